"""portkit capture at the edges of issue 26: times past 2038, time that goes
backwards, deep tunnels, bad checksums under --checksums, -n with
--summary, and the filter length limit."""
import datetime
import json
import os
import re
import shutil
import subprocess

import pytest

import pcapgen as g
from conftest import BIN, run

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))
TCPDUMP = os.path.join(ROOT, "tests/data/tcpdump")
ENV = {"TZ": "UTC"}
TIME_FILES = ["time_2038_max.pcap", "time_2038_overflow.pcap", "time_2039.pcap",
              "time_2106.pcap", "time_2106_max.pcap", "time_2106_overflow.pcapng",
              "time_2107.pcapng"]


def tcpdump_time(name):
    """The packet's UTC time as tcpdump's expected output has it."""
    out = os.path.join(TCPDUMP, re.sub(r"\.pcap(ng)?$", ".out", name))
    with open(out) as f:
        m = re.match(r"\s*1\s+(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}) ", f.read())
    assert m, out
    return datetime.datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S.%f").replace(
        tzinfo=datetime.timezone.utc)


def utc(epoch):
    return datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc) + \
        datetime.timedelta(seconds=float(epoch))


def ok(*args):
    r = run("capture", "-r", *args, env=ENV)
    assert r.rc == 0 and r.err == "", (args, r.rc, r.err)
    return r.out


def test_times_past_2038():
    """tcpdump's captures at the edges of pcap's 32 bits of seconds (and of
    pcapng's, beyond): every output mode reads them (the flow table took the
    times libpcap gives as negative and indexed its wheel out of bounds),
    and every time shown is tcpdump's date, not one in 1901 or 1902."""
    for name in TIME_FILES:
        times_in_every_mode(name)


def times_in_every_mode(name):
    path = os.path.join(TCPDUMP, name)
    want = tcpdump_time(name)
    assert want.year >= 2038
    line = ok(path).splitlines()
    assert len(line) == 1 and line[0].startswith(want.strftime("%H:%M:%S.%f ")), (name, line)
    pkt = json.loads(ok(path, "--json"))
    assert utc(pkt["ts"]) == want, (name, pkt["ts"])
    table = ok(path, "--flows").splitlines()
    assert len(table) == 2 and table[1].split()[:2] == ["udp", "192.168.1.11:43966"], table
    flow = json.loads(ok(path, "--flows", "--json"))
    assert utc(flow["start"]) == want and flow["duration"] == 0
    rows = [l.split("\t") for l in ok(path, "--zeek").splitlines() if not l.startswith("#")]
    assert len(rows) == 1 and utc(rows[0][0]) == want
    assert ok(path, "--summary").startswith("1 flows, at most 1 at once")


def test_time_that_goes_backwards(tmp_path):
    """A packet stamped before its flow's start (merged or reordered
    captures) counts, but moves no time back: the duration is the span of
    the packets in order (0.2 s), never negative (it printed as
    18446744073709551517.(/,s in the table and -99.8 in JSON, and Zeek's
    log showed '-')."""
    path = str(tmp_path / "backwards.pcap")
    a, b, t = g.A, g.B, g.BASE
    w = g.Writer(path)
    w.add(t + 100.0, g.eth(g.ipv4(a, b, 17, g.udp(a, b, 40000, 5000, b"q"))))
    w.add(t + 100.2, g.eth(g.ipv4(b, a, 17, g.udp(b, a, 5000, 40000, b"r"))))
    w.add(t + 0.2, g.eth(g.ipv4(a, b, 17, g.udp(a, b, 40000, 5000, b"q"))))
    w.add(t + 100.3, g.eth(g.ipv4(a, b, 6, g.tcp(a, b, 40001, 80, "S", 1000))))
    w.add(t + 100.4, g.eth(g.ipv4(b, a, 6, g.tcp(b, a, 80, 40001, "SA", 5000, 1001))))
    w.add(t + 100.5, g.eth(g.ipv4(a, b, 6, g.tcp(a, b, 40001, 80, "A", 1001, 5001))))
    w.add(t + 0.5, g.eth(g.ipv4(a, b, 6, g.tcp(a, b, 40001, 80, "PA", 1001, 5001, b"hello"))))
    w.close()
    table = ok(path, "--flows").splitlines()[1:]
    assert [(l.split()[0], l.split()[-1]) for l in table] == [("udp", "0.200s"), ("tcp", "0.200s")]
    flows = [json.loads(l) for l in ok(path, "--flows", "--json").splitlines()]
    assert [(f["proto"], f["start"], f["duration"], f["orig_pkts"], f["orig_bytes"])
            for f in flows] == [("udp", t + 100.0, 0.2, 2, 2), ("tcp", t + 100.3, 0.2, 3, 5)]
    rows = [l.split("\t") for l in ok(path, "--zeek").splitlines() if not l.startswith("#")]
    assert [(r[6], r[0], r[8], r[9]) for r in rows] == \
        [("udp", "%d.000000" % (t + 100), "0.200000", "2"),
         ("tcp", "%d.300000" % (t + 100), "0.200000", "5")]


def test_summary_numeric(tmp_path):
    """-n leaves the service names out of --summary too: 'tcp/80', not
    'tcp/80 (HTTP)'; without it the names stay."""
    path = str(tmp_path / "summary.pcap")
    a, b, t = g.A, g.B, g.BASE
    w = g.Writer(path)
    w.add(t, g.eth(g.ipv4(a, b, 6, g.tcp(a, b, 40001, 80, "S", 1000))))
    w.add(t + 0.1, g.eth(g.ipv4(a, b, 17, g.udp(a, b, 40000, 53, g.dns_query(1, "x.test")))))
    w.close()

    def services(*opts):
        out = ok(path, "--summary", *opts).split("\n\n")[1].splitlines()[1:]
        return sorted(l.split()[0] + (" " + l.split()[1] if l.split()[1].startswith("(") else "")
                      for l in out)
    assert services("-n") == ["tcp/80", "udp/53"]
    assert services() == ["tcp/80 (HTTP)", "udp/53 (DNS)"]


def test_filter_too_long_is_one_line_and_leaks_nothing(tmp_path):
    """A filter over 64 KiB is a usage error: one 'portkit:' line, exit 2,
    and the words gathered before the limit are freed (they leaked). The
    leak check is valgrind's when it is installed (a sanitizer build
    checks leaks itself, through the exit status)."""
    path = str(tmp_path / "one.pcap")
    w = g.Writer(path)
    w.add(g.BASE, g.eth(g.ipv4(g.A, g.B, 17, g.udp(g.A, g.B, 40000, 53, b"q"))))
    w.close()
    words = ["port", "1", "and"] * 7000 + ["udp"]
    r = run("capture", "-r", path, *words)
    assert r.rc == 2 and r.out == ""
    assert r.err.startswith("portkit: filter expression too long")
    assert len(r.err.splitlines()) == 1 and len(r.err.encode()) <= 200
    if b"__asan_init" in open(BIN, "rb").read() or not shutil.which("valgrind"):
        return
    cp = subprocess.run(["valgrind", "-q", "--leak-check=full", "--errors-for-leak-kinds=definite",
                         "--error-exitcode=99", BIN, "capture", "-r", path, *words],
                        capture_output=True, text=True, timeout=120)
    assert cp.returncode == 2, cp.stderr[-2000:]


def vxlan_nest(path, depth):
    """One UDP datagram in depth VXLAN tunnels, each level's ends its own
    (198.18.L.2:5000L > 198.18.L.1:4789, VNI 100+L)."""
    inner_a, inner_b = bytes([198, 18, 100, 2]), bytes([198, 18, 100, 1])
    frame = g.eth(g.ipv4(inner_a, inner_b, 17, g.udp(inner_a, inner_b, 40000, 5000, b"hello")))
    for level in range(depth, 0, -1):
        a, b = bytes([198, 18, level, 2]), bytes([198, 18, level, 1])
        vx = bytes([0x08, 0, 0, 0]) + (100 + level).to_bytes(3, "big") + b"\0"
        frame = g.eth(g.ipv4(a, b, 17, g.udp(a, b, 50000 + level, 4789, vx + frame)))
    w = g.Writer(path)
    w.add(g.BASE, frame)
    w.close()


def zeek_rows(path):
    """(resp_h, resp_p, history) of each conn.log line, sorted."""
    rows = [l.split("\t") for l in ok(path, "--zeek").splitlines() if not l.startswith("#")]
    return sorted((r[4], r[5], r[15]) for r in rows)


@pytest.mark.parametrize("depth", [3, 4])
def test_nested_vxlan_sessions_are_all_logged(tmp_path, depth):
    """VXLAN in VXLAN in VXLAN (and a fourth): Zeek (Tunnel::max_depth 4)
    logs every tunnel's UDP session and the innermost one; portkit kept
    only two tunnels' sessions and lost the third silently."""
    path = str(tmp_path / f"vxlan{depth}.pcap")
    vxlan_nest(path, depth)
    want = sorted([(f"198.18.{l}.1", "4789", "D") for l in range(1, depth + 1)] +
                  [("198.18.100.1", "5000", "D")])
    assert zeek_rows(path) == want
    flows = [json.loads(l) for l in ok(path, "--flows", "--json").splitlines()]
    inner = [f for f in flows if f["resp_port"] == 5000]
    assert len(flows) == depth + 1 and inner[0]["tunnel"] == "vxlan"
    line = ok(path).splitlines()
    assert len(line) == 1 and "198.18.100.2:40000" in line[0], line
    assert line[0].endswith(" via " + ", ".join(f"vxlan {100 + l}" for l in range(1, depth + 1)))


def test_tunnels_past_the_bound_are_said(tmp_path):
    """A fifth tunnel is past the bound (4, Zeek's): as Zeek, its UDP
    session is logged with X in its history and what it carries is not
    read; the packet line says so, and stderr counts such packets."""
    path = str(tmp_path / "vxlan5.pcap")
    vxlan_nest(path, 5)
    want = sorted([(f"198.18.{l}.1", "4789", "D") for l in range(1, 5)] +
                  [("198.18.5.1", "4789", "DX")])
    r = run("capture", "-r", path, "--zeek", env=ENV)
    assert r.rc == 0
    rows = [l.split("\t") for l in r.out.splitlines() if not l.startswith("#")]
    assert sorted((x[4], x[5], x[15]) for x in rows) == want
    assert r.err == "portkit: 1 packet came in more than 4 nested tunnels: what the innermost " \
                    "carried was not read\n"
    r = run("capture", "-r", path, env=ENV)
    assert r.rc == 0 and "198.18.5.2:50005" in r.out and r.out.rstrip().endswith(
        "vxlan 104 [tunnels too deep]"), r.out
    assert "1 packet came in more than 4 nested tunnels" in r.err
    pkt = json.loads(run("capture", "-r", path, "--json", env=ENV).out)
    assert pkt["tunnel_limit"] is True and pkt["dst_port"] == 4789


def syn_ack_then_bad_ack(path, port, bad=True):
    """A connection seen from its SYN-ACK (server 198.18.0.1:port), the
    client's ACK with a wrong TCP checksum, then the server's ACK, data and
    FIN."""
    a, b, t, c = g.A, g.B, g.BASE, 40000
    w = g.Writer(path)
    w.add(t, g.eth(g.ipv4(b, a, 6, g.tcp(b, a, port, c, "SA", 5000, 1001))))
    w.add(t + 0.1, g.eth(g.ipv4(a, b, 6, g.tcp(a, b, c, port, "A", 1001, 5001, bad=bad))))
    w.add(t + 0.2, g.eth(g.ipv4(b, a, 6, g.tcp(b, a, port, c, "A", 5001, 1001))))
    w.add(t + 0.3, g.eth(g.ipv4(b, a, 6, g.tcp(b, a, port, c, "PA", 5001, 1001, b"hello"))))
    w.add(t + 0.4, g.eth(g.ipv4(b, a, 6, g.tcp(b, a, port, c, "FA", 5006, 1001))))
    w.close()


def test_bad_checksum_ack_decides_nothing(tmp_path):
    """--checksums: a segment with a bad checksum adds C/c and nothing else:
    it counts in no packets or bytes and does not decide who originated.
    portkit flipped a SYN-ACK-first connection on 5555 at once by its own
    port vocabulary, so the bad ACK sat in ^hCadf (SHR) where Zeek, which
    waits there for a counted ACK, gives HcADF (SH). The expected records
    are Zeek's, by its source (TCP.cc WantConnection and ValidateChecksum,
    TCP_Endpoint.cc CheckHistory): on 5555, not one of Zeek's likely server
    ports, no flip; on 80, one of them, a flip at the SYN-ACK."""
    keys = ("orig_port", "resp_port", "history", "conn_state", "orig_pkts", "resp_pkts",
            "orig_ip_bytes", "resp_ip_bytes")
    want = {5555: (5555, 40000, "HcADF", "SH", 4, 0, 165, 0),
            80: (40000, 80, "^hCadf", "SHR", 0, 4, 0, 165)}
    for port in (5555, 80):
        path = str(tmp_path / f"bad{port}.pcap")
        syn_ack_then_bad_ack(path, port)
        f = json.loads(ok(path, "--flows", "--json", "--checksums"))
        assert tuple(f[k] for k in keys) == want[port], (port, f)
        rows = [l.split("\t") for l in ok(path, "--zeek", "--checksums").splitlines()
                if not l.startswith("#")]
        assert [(r[15], r[11]) for r in rows] == [want[port][2:4]]
        # with a good ACK both flip at that ACK, as Zeek
        syn_ack_then_bad_ack(path, port, bad=False)
        f = json.loads(ok(path, "--flows", "--json", "--checksums"))
        assert (f["orig_port"], f["history"]) == (40000, "^hAadf"), (port, f)
