"""Input the user gets wrong, and output formats that must not mix (issue 26):
every file an option names is read through one checker (a directory, a
device, a binary file or an oversized one is one `portkit:` line and exit
2); `--json` gives JSON or a refusal, never text. No traffic leaves this
host: nothing here sends a packet."""
import json
import os
import subprocess

import pytest

from conftest import BIN


def one_line_refusal(args, want, stdin=subprocess.DEVNULL, timeout=20):
    """Exit 2, nothing on stdout, one short `portkit:` line holding want.
    In a network namespace of its own: a binary that accepted what it must
    refuse (forward --kernel --persist) changes nothing of this host's."""
    try:
        own_ns = ["unshare", "-n"] if os.geteuid() == 0 else []   # without root: no --kernel
        r = subprocess.run([*own_ns, BIN, *args], capture_output=True, text=True,
                           timeout=timeout, stdin=stdin)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{args}: still running after {timeout} s (the input was accepted)")
    lines = r.stderr.splitlines()
    assert r.returncode == 2 and r.stdout == "", (args, r.returncode, r.stdout[:200], r.stderr)
    assert len(lines) == 1 and lines[0].startswith("portkit: "), (args, r.stderr)
    assert len(lines[0].encode()) <= 200 and want in lines[0], (args, r.stderr)


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("bad")
    nul = d / "binary"
    nul.write_bytes(b"segment lan 198.18.1.0/24\n\x00\x01\x02 binary\n")
    big = d / "big"
    with open(big, "wb") as f:     # over every reader's limit (16 MiB), sparse
        f.write(b"# a comment\n")
        f.truncate(17 << 20)
    return {"directory": ("/etc", "is a directory, not a file"),
            "device": ("/dev/zero", "is a device, not a file"),
            "binary": (str(nul), "is not a text file"),
            "big": (str(big), "is larger than")}


# Each option that reads a file, as a command that would otherwise run (serve
# on loopback port 0 and --count 1: an accepted bad file leaves it waiting)
READERS = {
    "audit --policy": lambda f: ["audit", "--policy", f],
    "audit --baseline": lambda f: ["audit", "--baseline", f],
    "serve --hosts": lambda f: ["serve", "--bind", "127.0.0.1", "--count", "1", "--hosts", f,
                                "echo:0"],
    "lab up FILE --print": lambda f: ["lab", "up", f, "--print"],
    "lab draw FILE": lambda f: ["lab", "draw", f],
    "forward -c": lambda f: ["forward", "-c", f, "--check"],
}


@pytest.mark.parametrize("reader", sorted(READERS))
def test_bad_files_are_refused(bad_files, reader):
    for kind in ("directory", "device", "binary", "big"):
        path, want = bad_files[kind]
        one_line_refusal(READERS[reader](path), want, timeout=10)


def test_dev_null_and_stdin_still_read():
    """/dev/null is an empty file; '-' a topology on standard input."""
    r = subprocess.run([BIN, "audit", "--policy", "/dev/null", "--fail-on", "high", "--json"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode in (0, 1) and "portkit:" not in r.stderr, r.stderr
    topo = "segment lan 198.18.1.0/24\nnode a pc lan=198.18.1.2\n"
    r = subprocess.run([BIN, "lab", "up", "-", "--print"], input=topo, capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0 and r.stdout == topo, r.stderr


@pytest.mark.parametrize("args,want", [
    (["audit", "--metrics", "--json"], "--metrics is its own format"),
    (["lab", "tour", "--json"], "no --json"),
    (["lab", "draw", "--json"], "no --json"),
    (["lab", "exec", "pc1", "--json", "--", "true"], "--json goes after '--'"),
    (["forward", "--kernel", "--persist", "127.0.0.1:1", "127.0.0.1:2", "--json"],
     "not with --json"),
])
def test_json_or_a_refusal(args, want):
    one_line_refusal(args, want)


def check_plan(out, nodes):
    recs = [json.loads(line) for line in out.splitlines()]
    assert [r["node"] for r in recs] == nodes
    keys = {"node", "role", "netns", "addrs", "services", "responder", "lan_addr", "wan_addr",
            "forwards"}
    assert all(set(r) == keys for r in recs), recs
    assert all(r["responder"] is None for r in recs)    # planned: nothing runs yet
    return {r["node"]: r for r in recs}


def test_lab_print_json_is_the_plan(tmp_path):
    r = subprocess.run([BIN, "lab", "up", "--print", "--json"], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    plan = check_plan(r.stdout, ["router", "server1", "pc1", "pc2", "pc3", "internet",
                                 "remote", "www"])
    assert plan["router"]["wan_addr"] == "198.19.0.2"
    assert plan["router"]["forwards"] == ["tcp 8080 -> 198.18.10.10:80",
                                          "tcp 3390 -> 198.18.10.10:3389"]
    assert plan["server1"]["addrs"] == ["198.18.10.10"] and plan["pc1"]["netns"] == "pkl-pc1"
    # a file of one's own is checked and planned the same way, under --name
    t = tmp_path / "t.conf"
    t.write_text("segment lan 198.18.1.0/24\nnode a pc lan=198.18.1.2\n")
    r = subprocess.run([BIN, "lab", "up", str(t), "--print", "--json", "--name", "x1"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert check_plan(r.stdout, ["a"])["a"]["netns"] == "x1-a"
    t.write_text("segment lan 10.0.0.0/24\n")
    one_line_refusal(["lab", "up", str(t), "--print", "--json"], f"{t}:1:")


ZONES = r'''
import json, socket, subprocess, sys
def listen(dev):
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.bind(("fe80::1", 0, 0, socket.if_nametoindex(dev)))
    s.listen()
    return s
a, b = listen("lo"), listen("pkz0")
c = socket.create_connection(("fe80::1%lo", a.getsockname()[1]), timeout=5)
out = {"lo": a.getsockname()[1], "pkz0": b.getsockname()[1], "client": c.getsockname()[1]}
for arg in (["-l", "fe80::1%lo"], ["-l", "fe80::1%pkz0"], ["-l", "fe80::1"],
            ["-l", "fe80::%lo/64"], ["-l", "--src", "fe80::1%" + str(socket.if_nametoindex("lo"))],
            ["--dst", "fe80::1%lo"]):
    r = subprocess.run([sys.argv[1], "ls", *arg, "--json"], capture_output=True, text=True,
                       timeout=20)
    out[" ".join(arg)] = [r.returncode, r.stderr,
                          sorted(x["local_port"] for x in map(json.loads, r.stdout.splitlines()))]
print(json.dumps(out))
'''


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root: a network namespace of its own")
def test_ls_takes_ipv6_zones():
    """fe80::1 on lo and on a veth, a listener on each: the zone picks the
    interface the socket is bound to, on either side of a session."""
    setup = ("set -e; ip link set lo up; ip link add pkz0 type veth peer name pkz1; "
             "ip link set pkz0 up; ip link set pkz1 up; "
             "ip -6 addr add fe80::1/64 dev lo nodad; ip -6 addr add fe80::1/64 dev pkz0 nodad; "
             'exec /usr/bin/python3 -c "$1" "$2"')
    # an unnamed namespace: it and its veth go when the shell ends
    r = subprocess.run(["unshare", "-n", "sh", "-c", setup, "sh", ZONES, BIN],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)
    lo, veth, client = got["lo"], got["pkz0"], got["client"]
    assert got["-l fe80::1%lo"] == [0, "", [lo]]
    assert got["-l fe80::1%pkz0"] == [0, "", [veth]]
    assert got["-l fe80::1"] == [0, "", sorted([lo, veth])]
    assert got["-l fe80::%lo/64"] == [0, "", [lo]]
    assert [v for k, v in got.items() if k.startswith("-l --src")] == [[0, "", [lo]]]
    # the client, and the server's side of its session (fe80::1 at both ends)
    assert got["--dst fe80::1%lo"] == [0, "", sorted([client, lo])]


@pytest.mark.parametrize("arg,want", [
    ("fe80::1%no-such-if0", "no interface 'no-such-if0' here"),
    ("127.0.0.1%lo", "a zone (%IFACE) goes with an IPv6 address"),
    ("fe80::1%", "an empty zone"),
])
def test_ls_bad_zones_are_one_line(arg, want):
    one_line_refusal(["ls", arg], want)
