"""portkit port: the registry, curated names, categories, errors."""
import csv
import json
import os
import re

import pytest

from conftest import BIN, ROOT, run

FIELDS = ["port", "proto", "service", "description", "common_name", "category",
          "ephemeral_here", "note"]


def by_proto(recs):
    return {r["proto"]: r for r in recs}


def test_rdp_port():
    r = run("port", "3389", "--json")
    assert r.rc == 0 and r.err == ""
    recs = by_proto(r.json())
    assert set(recs) == {"tcp", "udp"}
    for rec in recs.values():
        for f in FIELDS:
            assert f in rec
        assert rec["service"] == "ms-wbt-server"
        assert rec["common_name"] == "RDP"
        assert rec["category"] == "registered"
        assert rec["port"] == 3389
        assert "Remote Desktop" in rec["note"]


def test_rdp_text_table():
    r = run("port", "3389")
    assert r.rc == 0
    lines = r.out.splitlines()
    assert lines[0].split() == ["PORT", "SERVICE", "KNOWN", "AS", "CATEGORY", "DESCRIPTION"]
    row = [l for l in lines if l.startswith("3389/tcp")][0]
    assert "ms-wbt-server" in row and "RDP" in row and "registered" in row
    # columns line up with the header
    col = lines[0].index("SERVICE")
    for l in lines[1:]:
        if re.match(r"^\d+/", l):
            assert l[col - 2:col] == "  " and l[col] != " "
    assert "\x1b[" not in r.out  # a pipe gets no colours


def test_names_and_aliases_answer_3389():
    for name in ("rdp", "ms-wbt-server", "RDP", "remote-desktop"):
        recs = [x for x in run("port", name, "--json").json() if x["port"] == 3389]
        assert {x["proto"] for x in recs} == {"tcp", "udp"}, name


def test_common_aliases():
    cases = {"smb": 445, "dns": 53, "postgres": 5432, "redis": 6379, "https": 443,
             "kubelet": 10250, "wireguard": 51820, "mysql": 3306}
    for name, port in cases.items():
        r = run("port", name, "--json")
        assert r.rc == 0, name
        assert port in {x["port"] for x in r.json()}, name


def test_unregistered_dynamic_port_and_ephemeral():
    lo, hi = map(int, open("/proc/sys/net/ipv4/ip_local_port_range").read().split())
    recs = run("port", "59210", "--json").json()
    assert len(recs) == 1
    rec = recs[0]
    assert rec["service"] is None and rec["category"] == "dynamic"
    assert rec["ephemeral_here"] == (lo <= 59210 <= hi)
    assert rec["note"]


def test_ephemeral_from_fixture():
    env = {"PORTKIT_PROC_ROOT": os.path.join(ROOT, "tests/data/proc-ephemeral")}
    recs = {r["port"]: r for r in run("port", "40001", "40100", "41000", "--json",
                                         "-P", "tcp", env=env).json()}
    assert recs[40001]["ephemeral_here"] is True
    assert recs[40100]["ephemeral_here"] is False and recs[40100]["reserved_here"] is True
    assert recs[41000]["ephemeral_here"] is False
    text = run("port", "40001", env=env).out
    assert "ephemeral here" in text


def test_range_lists_every_port():
    recs = run("port", "8000-8010", "--json").json()
    assert {r["port"] for r in recs} == set(range(8000, 8011))
    assert any(r["service"] == "irdmi" and r["common_name"] for r in recs if r["port"] == 8000)


def test_proto_filter():
    recs = run("port", "53", "--proto", "udp", "--json").json()
    assert recs and all(r["proto"] == "udp" for r in recs)
    assert recs[0]["service"] == "domain" and recs[0]["common_name"] == "DNS"
    assert {r["proto"] for r in run("port", "53/tcp", "--json").json()} == {"tcp"}


def test_x11_range_registration():
    for p in (6000, 6031, 6063):
        recs = run("port", p, "--json", "-P", "tcp").json()
        assert recs[0]["service"] == "x11" and recs[0]["registered_range"] == "6000-6063"
    assert all(r["service"] != "x11" for r in run("port", "6064", "--json").json())


def test_curated_only_port():
    recs = run("port", "10250", "-P", "tcp", "--json").json()
    assert any(r["common_name"] == "Kubelet API" for r in recs)


def test_name_without_port():
    recs = run("port", "argus", "--json").json()
    assert recs == [dict(recs[0], port=None, service="argus")]
    assert recs[0]["proto"] is None


def test_search():
    r = run("port", "--search", "remote", "desktop", "--json")
    assert r.rc == 0
    assert 3389 in {x["port"] for x in r.json()}
    r = run("port", "--search", "zzqqxx-nothing")
    assert r.rc == 1 and r.out == ""


def expected_registry_lines():
    """(port, proto, service, description) for every port/proto pair in the CSV."""
    out = set()
    with open(os.path.join(ROOT, "data/service-names-port-numbers.csv"), newline="") as f:
        for row in list(csv.reader(f))[1:]:
            name, ports, proto, desc = row[:4]
            if not ports or not (proto or name):
                continue
            lo, _, hi = ports.partition("-")
            lo, hi = int(lo), int(hi or lo)
            desc = " ".join(desc.split()) or None
            for p in range(lo, hi + 1):
                out.add((p, proto or None, name or None, desc))
    return out


def test_whole_space_json_count():
    r = run("port", "0-65535", "--json", timeout=60)
    assert r.rc == 0
    recs = r.json()
    def from_registry(x):
        return x["service"] is not None or (x["proto"] and x["description"] is not None)

    reg = {(x["port"], x["proto"], x["service"], x["description"])
           for x in recs if from_registry(x)}
    assert reg == expected_registry_lines()
    reg_lines = [x for x in recs if from_registry(x)]
    assert len(reg_lines) == len(reg)  # one line per registration, no duplicates
    assert {x["port"] for x in recs} == set(range(65536))
    covered = {p for (p, _, _, _) in reg}
    extra = [x for x in recs if not from_registry(x)]
    for x in extra:
        if x["proto"] is None:  # an honest "unassigned" line
            assert x["port"] not in covered and x["service"] is None
        else:  # our curated name where IANA registered nothing for that protocol
            assert x["common_name"] and x["service"] is None
    assert len(recs) == len(reg) + len(extra)


def test_errors_are_one_line_exit_2():
    cases = [
        (["port", "70000"], "portkit: invalid port '70000': must be 0-65535"),
        (["port", "80-70"], "portkit: invalid port range '80-70': 80 is above 70"),
        (["port", "no-such-service-zz"], "portkit: unknown port or service 'no-such-service-zz' "
         "(try: portkit port --search 'no-such-service-zz')"),
        (["port", "53/icmp"], "portkit: invalid protocol 'icmp' in '53/icmp'"),
        (["port", "--proto", "icmp", "53"], None),
        (["port", "--bogus", "53"], None),
        (["port", "--proto"], None),
        (["port"], None),
        (["nosuchcommand"], "portkit: unknown command 'nosuchcommand' (see 'portkit --help')"),
        (["por"], "portkit: unknown command 'por' (did you mean 'port'?)"),
    ]
    for args, msg in cases:
        r = run(*args)
        assert r.rc == 2, args
        assert r.out == "", args
        lines = r.err.splitlines()
        assert len(lines) == 1 and lines[0].startswith("portkit: "), (args, r.err)
        if msg:
            assert lines[0] == msg


def test_write_error_is_reported():
    import subprocess
    with open("/dev/full", "w") as full:
        cp = subprocess.run([BIN, "port", "0-65535"],
                            stdout=full, stderr=subprocess.PIPE, text=True, timeout=30)
    assert cp.returncode == 2
    assert cp.stderr.startswith("portkit: cannot write output")


def test_help_and_version():
    r = run("--help")
    assert r.rc == 0 and "port" in r.out and "usage: portkit" in r.out
    r = run("port", "--help")
    assert r.rc == 0 and r.out.startswith("usage: portkit port") and "--search" in r.out
    assert run("help", "port").out == r.out
    r = run("--version")
    assert r.rc == 0 and re.match(r"^portkit \d+\.\d+\.\d+$", r.out.strip())


def test_every_port_once_and_repeats_cost_nothing():
    """port 0-65535 answers all 65,536 ports; the same range again adds
    nothing. Adding a record is O(1) (a hash set): four hundred copies of
    the range take 1.8 s (4.2 s under ASan), where the old list scan, which
    compared each record added with all 72,000 kept, took 55 CPU-s for
    forty copies (so forty passed the run's 60 s bound on a quiet machine)
    and would need about ten minutes for these."""
    one = run("port", "0-65535", "--json", timeout=60)
    assert one.rc == 0, one.err
    recs = one.json()
    assert {r["port"] for r in recs} == set(range(65536))
    assert len({(r["port"], r["proto"], r["service"], r["description"]) for r in recs}) \
        == len(recs)
    many = run("port", *["0-65535"] * 400, "--json", timeout=60)
    assert many.rc == 0 and many.out == one.out, many.err


@pytest.mark.parametrize("order", [("60001/tcp", "60001/udp"), ("60001/udp", "60001/tcp"),
                                   ("443/tcp", "443/udp")])
def test_tcp_and_udp_of_one_port_are_both_answered(order):
    """A TCP record must not stand for the UDP one of the same port (the
    per-port index of the list once marked 'no protocol' with TCP's bit)."""
    r = run("port", *order, "--json")
    assert r.rc == 0, r.err
    got = {(j["port"], j["proto"]) for j in map(json.loads, r.out.splitlines())}
    port = int(order[0].split("/")[0])
    assert {(port, "tcp"), (port, "udp")} <= got, r.out
