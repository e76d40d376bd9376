"""One port vocabulary: ls, capture (packets and flows) and audit name the
same server end and the same service for every port pair of the table in
tests/unit/test_port.c that can be made with real sockets, including UDP
pairs where both or neither end is ephemeral, and TCP pairs where the
connection's direction says more than the port numbers do."""
import json
import os
import subprocess

import pytest

from conftest import BIN
from netns import Netns

HELPER = os.path.join(os.path.dirname(__file__), "helpers/pairs.py")
PY = "/usr/bin/python3"

# (proto, port a, port b, expected server port); TCP pairs are (listener, client)
PAIRS = [
    ("udp", 61000, 40000, 40000),   # both client-side: the registered one
    ("udp", 40001, 61001, 40001),   # both client-side, neither registered: the lower
    ("udp", 53, 40002, 53),
    ("udp", 9000, 8080, 8080),      # neither client-side, both registered: the lower
    ("udp", 68, 67, 67),            # both well-known
    ("tcp", 3389, 40003, 3389),
    ("tcp", 40010, 22, 40010),      # the connection, not the port number, decides
    ("tcp", 50000, 80, 50000),
]
# UDP: one datagram each way; TCP (SYNs only, by the filter): SYN and SYN-ACK
PACKETS = 2 * len(PAIRS)


def key(a, b):
    return frozenset((a, b))


@pytest.fixture
def lab(tmp_path):
    with Netns() as ns:
        ns.run("sysctl", "-qw", "net.ipv4.ip_local_port_range=32768 60999")
        pcap = tmp_path / "pairs.pcap"
        cap = subprocess.Popen(ns.cmd(BIN, "capture", "-i", "lo", "-w", pcap, "-c", PACKETS,
                                      "udp or (tcp[tcpflags] & tcp-syn != 0)"),
                               stderr=subprocess.PIPE, text=True)
        ns.procs.append(cap)
        assert "listening on lo" in cap.stderr.readline()
        p = ns.spawn(PY, HELPER, *[f"{proto}:{a}:{b}" for proto, a, b, _ in PAIRS])
        assert p.stdout.readline().strip() == "ready"
        p.stdin.write("go\n")
        p.stdin.flush()
        assert p.stdout.readline().strip() == "done"
        cap.wait(timeout=20)
        ns.pcap = pcap
        yield ns


def jsonl(r):
    assert r.returncode == 0, r.stderr
    return [json.loads(l) for l in r.stdout.splitlines()]


def test_commands_agree_on_server_and_service(lab):
    expect = {key(a, b): (proto, srv) for proto, a, b, srv in PAIRS}
    seen = {}     # pair -> set of (server_port, service, common_name) per command

    def note(cmd, proto, a, b, srv, svc, common):
        k = key(a, b)
        if k in expect and expect[k][0] == proto:
            seen.setdefault(k, {}).setdefault(cmd, set()).add((srv, svc, common))

    for r in jsonl(lab.run(BIN, "ls", "-a", "--json")):
        if r["remote_port"]:
            srv = r["local_port"] if r["server_side"] == "local" else r["remote_port"]
            note("ls", r["proto"], r["local_port"], r["remote_port"], srv, r["service"],
                 r["common_name"])
    for r in jsonl(lab.run(BIN, "capture", "-r", lab.pcap, "--json")):
        note("packets", r["proto"], r["src_port"], r["dst_port"], r["server_port"],
             r["service"], r["common_name"])
    for r in jsonl(lab.run(BIN, "capture", "-r", lab.pcap, "--flows", "--json")):
        note("flows", r["proto"], r["orig_port"], r["resp_port"], r["server_port"],
             r["service"], r["common_name"])
    audit = subprocess.run(lab.cmd(BIN, "audit", "--json"), capture_output=True, text=True,
                           timeout=30)
    assert audit.returncode in (0, 1), audit.stderr
    listeners = {}
    for f in (json.loads(l) for l in audit.stdout.splitlines()):
        listeners[(f["proto"], f["port"])] = (f["service"], f.get("common_name"))

    for k, (proto, srv) in expect.items():
        views = seen.get(k, {})
        assert set(views) == {"ls", "packets", "flows"}, (sorted(k), views)
        answers = set().union(*views.values())
        assert len(answers) == 1, (sorted(k), views)
        got = answers.pop()
        assert got[0] == srv, (sorted(k), got)
        if proto == "tcp":    # a listener on every address: audit reports it
            assert listeners[(proto, srv)] == got[1:], (srv, listeners.get((proto, srv)), got)
