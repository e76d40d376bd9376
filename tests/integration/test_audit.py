"""portkit audit in a namespace with planted listeners."""
import json
import os

import pytest

from conftest import BIN
from netns import Netns

HELPER = os.path.join(os.path.dirname(__file__), "helpers/listeners.py")
PY = "/usr/bin/python3"
PLANTED = ["tcp:0.0.0.0:23", "tcp:0.0.0.0:6379", "tcp:127.0.0.1:6380", "udp:0.0.0.0:123",
           "tcp:0.0.0.0:40000"]


@pytest.fixture
def lab():
    with Netns() as ns:
        ns.ip("link", "add", "pkv0", "type", "veth", "peer", "name", "pkv1")
        ns.ip("addr", "add", "198.18.0.1/24", "dev", "pkv0")
        ns.ip("link", "set", "pkv0", "up")
        ns.ip("link", "set", "pkv1", "up")
        p = ns.spawn(PY, HELPER, *PLANTED)
        ns.pid = int(p.stdout.readline())
        yield ns


def audit(ns, *args):
    r = ns.run(BIN, "audit", "--json", *args)
    return r.returncode, [json.loads(l) for l in r.stdout.splitlines()], r.stderr


def keyset(findings):
    return {(f["rule"], f["severity"], f["proto"], f["port"]) for f in findings}


def test_expected_findings_and_only_those(lab):
    rc, f, err = audit(lab)
    assert rc == 1, err
    assert keyset(f) == {
        ("cleartext-login", "high", "tcp", 23),
        ("unauthenticated-service", "high", "tcp", 6379),
        ("udp-amplification", "medium", "udp", 123),
        ("ephemeral-range-listener", "low", "tcp", 40000),
        ("exposed", "info", "tcp", 40000),
    }
    redis = [x for x in f if x["port"] == 6379][0]
    assert redis["exposure"] == "all-interfaces" and redis["common_name"] == "Redis"
    assert [o["pid"] for o in redis["owners"]] == [lab.pid]
    assert "authentication" in redis["message"]
    # the text report groups by severity and ends with a count
    r = lab.run(BIN, "audit")
    lines = r.stdout.splitlines()
    sev = [l.split()[0] for l in lines[1:] if l and l.split()[0] in ("high", "medium", "low", "info")]
    assert sev == ["high", "high", "medium", "low", "info"]
    assert lines[-1].startswith("5 findings (2 high, 1 medium, 1 low, 1 info)")


def test_fail_on(lab):
    assert audit(lab, "--fail-on", "high")[0] == 1
    lab_only_low = lab.run(BIN, "audit", "--fail-on", "high", "--policy", "/dev/null")
    assert lab_only_low.returncode == 1


def test_policy_allowing_them_exits_0(lab, tmp_path):
    pol = tmp_path / "policy"
    pol.write_text("# what this lab may run\n"
                   "allow tcp/23 by python3\n"
                   "allow tcp/6379 on all-interfaces\n"
                   "allow tcp/6380 on loopback\n"
                   "allow udp/123 on any\n"
                   "allow tcp/40000-40010 on 0.0.0.0/0\n")
    rc, f, err = audit(lab, "--policy", pol)
    assert (rc, f) == (0, []), err
    # drop one allow line: that listener is a finding again, as not allowed
    pol.write_text("allow tcp/23\nallow tcp/6380\nallow udp/123\nallow tcp/40000\n")
    rc, f, _ = audit(lab, "--policy", pol)
    assert rc == 1
    assert keyset(f) == {("not-allowed", "medium", "tcp", 6379),
                         ("unauthenticated-service", "high", "tcp", 6379)}
    # a process that does not match keeps it a finding
    pol.write_text("allow tcp/23 by inetd\nallow tcp/6379\nallow tcp/6380\nallow udp/123\n"
                   "allow tcp/40000\n")
    rc, f, _ = audit(lab, "--policy", pol)
    assert ("cleartext-login", "high", "tcp", 23) in keyset(f)
    # severity overrides and ignores
    pol.write_text("severity cleartext-login low\nignore unauthenticated-service tcp/6379\n"
                   "ignore exposed\nignore ephemeral-range-listener\n"
                   "ignore udp-amplification udp/123\nfail-on medium\n")
    rc, f, _ = audit(lab, "--policy", pol)
    assert (rc, keyset(f)) == (0, {("cleartext-login", "low", "tcp", 23)})


def test_baseline_catches_new_and_removed(lab, tmp_path):
    base = tmp_path / "baseline"
    rc, _, err = audit(lab, "--save-baseline", base)
    assert rc == 1, err
    text = base.read_text()
    assert text.startswith("# portkit audit baseline 1") and "tcp\t0.0.0.0\t6379\tall-interfaces\tpython3\t-" in text
    # one listener goes away, another appears
    lab.procs[0].kill()
    lab.procs[0].wait(timeout=10)
    p = lab.spawn(PY, HELPER, "tcp:0.0.0.0:23", "tcp:0.0.0.0:6379", "tcp:127.0.0.1:6380",
                  "udp:0.0.0.0:123", "tcp:127.0.0.1:8081")
    p.stdout.readline()
    rc, f, err = audit(lab, "--baseline", base)
    drift = {(x["rule"], x["port"]) for x in f if x["rule"] in ("new-listener", "removed-listener")}
    assert drift == {("new-listener", 8081), ("removed-listener", 40000)}, err
    removed = [x for x in f if x["rule"] == "removed-listener"][0]
    assert removed["owners"] == [{"comm": "python3"}]


def test_verify_connects_through_own_addresses(lab):
    rc, f, _ = audit(lab, "--verify")
    by_port = {x["port"]: x for x in f}
    assert by_port[23]["verified"] is True        # 0.0.0.0:23 answers on 198.18.0.1
    assert by_port[123]["verified"] is None       # UDP cannot be checked by connecting


def test_netns_option(lab):
    import subprocess
    r = subprocess.run([BIN, "audit", "--json", "--netns", lab.name], capture_output=True,
                       text=True, timeout=30)
    f = [json.loads(l) for l in r.stdout.splitlines()]
    assert ("cleartext-login", "high", "tcp", 23) in keyset(f)
    assert all(x["netns"] == lab.name for x in f)


@pytest.mark.parametrize("text,msg", [
    ("allow tcp/22\nalow tcp/80\n", ":2: unknown statement 'alow'"),
    ("allow 22\n", ":1: expected PROTO/PORT (tcp/22), got '22'"),
    ("allow icmp/1\n", ":1: unknown protocol 'icmp'"),
    ("allow tcp/70000\n", ":1: invalid port '70000': must be 0-65535"),
    ("\n\nallow tcp/22 on mars\n", ":3: bad bind 'mars'"),
    ("allow tcp/22 by\n", ":1: 'by' needs a value"),
    ("allow tcp/22 with x\n", ":1: unexpected 'with'"),
    ("severity nosuchrule high\n", ":1: unknown rule 'nosuchrule'"),
    ("severity exposed extreme\n", ":1: unknown severity 'extreme'"),
    ("ignore\n", ":1: ignore takes RULE [PROTO/PORT]"),
    ("fail-on\n", ":1: fail-on takes LEVEL"),
])
def test_bad_policy_is_line_numbered(pk, tmp_path, text, msg):
    pol = tmp_path / "p"
    pol.write_text(text)
    r = pk("audit", "--policy", str(pol))
    assert r.rc == 2 and r.out == ""
    lines = r.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("portkit: " + str(pol)) and msg in lines[0], r.err


def test_other_errors(pk, tmp_path):
    bad = tmp_path / "b"
    bad.write_text("# portkit audit baseline 1\ntcp\t1.2.3.4\t99999\tall-interfaces\t-\t-\n")
    cases = [
        (["audit", "--policy", "/nonexistent/x"], "cannot open policy '/nonexistent/x'"),
        (["audit", "--baseline", "/nonexistent/x"], "cannot open baseline '/nonexistent/x'"),
        (["audit", "--baseline", str(bad)], f"{bad}:2: bad port"),
        (["audit", "--baseline", "/etc/hostname"], "is not a portkit audit baseline"),
        (["audit", "--fail-on", "extreme"], "invalid --fail-on 'extreme'"),
        (["audit", "--netns", "no-such-ns-xyz"], "cannot open network namespace"),
        (["audit", "extra"], "unexpected argument 'extra'"),
    ]
    for args, msg in cases:
        r = pk(*args)
        assert r.rc == 2, (args, r.err)
        lines = r.err.splitlines()
        # as non-root a warning ("other users' sockets are not visible") may come first
        assert len(lines) == (1 if os.geteuid() == 0 else len(lines)) and msg in lines[-1], \
            (args, r.err)
        assert all(line.startswith("portkit: ") for line in lines), r.err


def test_rdp_moved_to_another_port_is_judged_as_rdp(lab):
    """The service that answers is judged, not the number: RDP on 3350 is
    the same finding as RDP on 3389, with a note that the port is moved."""
    import select
    import subprocess
    p = subprocess.Popen(lab.cmd(BIN, "serve", "rdp", "rdp:3350", "--bind", "0.0.0.0"),
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True)
    lab.procs.append(p)             # ended by the fixture, by its handle
    ready, _, _ = select.select([p.stdout], [], [], 10)
    assert ready and "serving" in p.stdout.readline()
    rc, f, err = audit(lab)
    assert rc == 1, err
    rdp = {x["port"]: x for x in f if x["rule"] == "remote-access-exposed"}
    assert set(rdp) == {3389, 3350}, keyset(f)
    assert rdp[3350]["severity"] == rdp[3389]["severity"] == "medium"
    assert (rdp[3350]["common_name"], rdp[3350]["service"]) == ("RDP", "ms-wbt-server")
    assert rdp[3350]["service_source"] == rdp[3389]["service_source"] == "probe"
    assert "RDP answers on this non-standard port (its usual one is 3389)" in rdp[3350]["message"]
    assert "non-standard" not in rdp[3389]["message"]
    assert not [x for x in f if x["port"] == 3350 and x["rule"] == "exposed"]
    # the planted silent listeners are still judged by their numbers
    assert ("cleartext-login", "high", "tcp", 23) in keyset(f)
    # --no-probe: by the number only, as a port scanner would
    _, f, _ = audit(lab, "--no-probe")
    moved = [(x["rule"], x["severity"], x["service_source"]) for x in f if x["port"] == 3350]
    assert moved == [("exposed", "info", "registry")]
