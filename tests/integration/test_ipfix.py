"""capture --ipfix, judged by the real collectors: nfcapd (Debian's nfdump)
on the loopback of a namespace made here takes IPFIX and NetFlow v9 over
UDP, `nfdump -r` reads back what it stored; IPFIX over TCP goes to a plain
listener, and Wireshark's own IPFIX dissector reads the stream it got. Every one-way record must equal the
corresponding side of portkit's own `--flows --json` records: addresses,
ports, protocol, packets and IP bytes.
"""
import json
import os
import shutil
import signal
import subprocess
import time

import pytest

import pcapgen
from conftest import BIN, ROOT
from netns import Netns

PY = "/usr/bin/python3"
REAL = os.path.join(ROOT, "tests/data/zeek/traces/http/concurrent-range-requests.pcap")
NAMES = {"TCP": 6, "UDP": 17, "ICMP": 1, "ICMP6": 58, "IPv6ICMP": 58}


def need(*tools):
    for t in tools:
        if not shutil.which(t):
            pytest.skip(f"{t} is not installed (scripts/deps test)")


@pytest.fixture(scope="module")
def pcaps(tmp_path_factory):
    d = tmp_path_factory.mktemp("ipfix")
    pcapgen.write_all(str(d))
    bulk = str(d / "bulk.pcap")
    pcapgen.bulk(bulk, 3000, flows=250)
    return [str(d / "mixed.pcap"), bulk, REAL]


def expected(pcap):
    """portkit's own flows as one-way records (as an exporter must send them)."""
    r = subprocess.run([BIN, "capture", "-r", pcap, "--flows", "--json", "--interval", "0"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    want = []
    for f in map(json.loads, r.stdout.splitlines()):
        p = {"tcp": 6, "udp": 17, "icmp": 1, "icmp6": 58}.get(f["proto"], f["proto"])
        o = (f["orig_addr"], f["resp_addr"], f["orig_port"], f["resp_port"], p,
             f["orig_pkts"], f["orig_ip_bytes"])
        back = (f["resp_addr"], f["orig_addr"], f["resp_port"], f["orig_port"], p,
                f["resp_pkts"], f["resp_ip_bytes"])
        want += [x for x in (o, back) if x[5]]
    return sorted(want, key=str)


def wait_bound(ns, port, proto="-u"):
    """Until something in the namespace is bound to port (bounded)."""
    end = time.monotonic() + 20
    while time.monotonic() < end:
        out = ns.run(BIN, "ls", proto, "-l", "--port", port, "--json").stdout
        if out.strip():
            return
        time.sleep(0.02)
    raise AssertionError(f"nothing bound to {port}")


def collect(tmp_path, pcap, *extra):
    """Export pcap to nfcapd in a namespace; nfdump's records back."""
    store = tmp_path / "nfcapd"
    store.mkdir(exist_ok=True)
    with Netns() as ns:
        nf = ns.spawn("nfcapd", "-w", store, "-p", "4739", "-b", "127.0.0.1", "-B", "8000000",
                      "-t", "3600")
        wait_bound(ns, 4739)
        r = ns.run(BIN, "capture", "-r", pcap, "--ipfix", "127.0.0.1:4739", "--interval", "0",
                   *extra)
        assert r.returncode == 0 and r.stdout == "", r.stderr
        assert "dropped" not in r.stderr, r.stderr
        # everything was sent before capture ended; nfcapd has it once its
        # socket's queue is empty (it may stop without reading what is left)
        end = time.monotonic() + 30
        while time.monotonic() < end:
            q = json.loads(ns.run(BIN, "ls", "-u", "-l", "--port", "4739", "--json")
                           .stdout.splitlines()[0])["recv_q"]
            if q == 0:
                break
            time.sleep(0.01)
        assert q == 0
        nf.send_signal(signal.SIGTERM)     # it writes its file as it ends
        nf.wait(timeout=30)
    out = subprocess.run(["nfdump", "-R", str(store), "-q", "-N", "-o",
                          "fmt:%sa|%da|%sp|%dp|%pr|%pkt|%byt|%ts|%te"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    shutil.rmtree(store)
    got = []
    for line in out.stdout.splitlines():
        sa, da, sp, dp, pr, pk, by, ts, te = (x.strip() for x in line.split("|"))
        pr = NAMES.get(pr, int(pr) if pr.isdigit() else pr)
        got.append((sa, da, int(sp) if pr in (6, 17) else None, int(dp) if pr in (6, 17) else None,
                    pr, int(pk), int(by), ts, te))
    return got, r.stderr


def compare(got, want):
    strip = lambda x: (x[0], x[1], x[2] if x[4] in (6, 17) else None,
                       x[3] if x[4] in (6, 17) else None, x[4], x[5], x[6])
    assert sorted(map(strip, got), key=str) == sorted(map(strip, want), key=str)


@pytest.mark.parametrize("v9", [False, True], ids=["ipfix", "netflow9"])
def test_nfcapd_gets_every_flow(tmp_path, pcaps, v9):
    need("nfcapd", "nfdump")
    for pcap in pcaps:
        got, err = collect(tmp_path, pcap, *(["--netflow9"] if v9 else []))
        want = expected(pcap)
        compare(got, want)
        assert f"sent {len(want)} flow records" in err, err
    # the real trace's times as nfdump shows them: the flows' own (2022), to the ms
    starts = {x[7] for x in got}
    assert all(s.startswith("2022-07-12 17:21:40.") for s in starts), starts


def stream_pcap(data, path):
    """The bytes a TCP collector received, as a TCP connection in a pcap
    (handshake, 1400-byte segments, FIN), for Wireshark to reassemble."""
    a, b = bytes([127, 0, 0, 1]), bytes([127, 0, 0, 2])
    w = pcapgen.Writer(path, 101)      # raw IPv4
    t = pcapgen.BASE
    seq = 1000
    w.add(t, pcapgen.ipv4(a, b, 6, pcapgen.tcp(a, b, 40000, 4739, "S", seq - 1)))
    w.add(t, pcapgen.ipv4(b, a, 6, pcapgen.tcp(b, a, 4739, 40000, "SA", 5000, seq)))
    for i in range(0, len(data), 1400):
        t += 0.0001
        w.add(t, pcapgen.ipv4(a, b, 6, pcapgen.tcp(a, b, 40000, 4739, "PA", seq + i, 5001,
                                                     data[i:i + 1400])))
    w.add(t + 0.0001, pcapgen.ipv4(a, b, 6, pcapgen.tcp(a, b, 40000, 4739, "FA",
                                                         seq + len(data), 5001)))
    w.close()


def test_tcp_transport_read_by_wireshark(tmp_path, pcaps):
    need("tshark")
    got_bytes = tmp_path / "stream"
    with Netns() as ns:
        sink = ns.spawn(PY, "-c", "import socket,sys\n"
                        "l=socket.socket(); l.bind(('127.0.0.1',4739)); l.listen()\n"
                        "c,_=l.accept(); out=open(sys.argv[1],'wb')\n"
                        "while True:\n"
                        "  d=c.recv(65536)\n"
                        "  if not d: break\n"
                        "  out.write(d)\n"
                        "out.close()\n", got_bytes)
        wait_bound(ns, 4739, "-t")
        r = ns.run(BIN, "capture", "-r", pcaps[1], "--ipfix", "127.0.0.1:4739",
                   "--ipfix-transport", "tcp", "--interval", "0")
        assert r.returncode == 0 and "(tcp)" in r.stderr and "dropped" not in r.stderr, r.stderr
        sink.wait(timeout=30)        # the exporter closed: the sink has it all
    cap = tmp_path / "stream.pcap"
    stream_pcap(got_bytes.read_bytes(), str(cap))
    out = subprocess.run(["tshark", "-r", cap, "-d", "tcp.port==4739,cflow", "-T", "fields",
                          "-E", "occurrence=a", "-E", "aggregator=;", "-e", "cflow.srcaddr",
                          "-e", "cflow.dstaddr", "-e", "cflow.srcport", "-e", "cflow.dstport",
                          "-e", "cflow.protocol", "-e", "cflow.packets", "-e", "cflow.octets",
                          "-Y", "cflow"], capture_output=True, text=True, timeout=60)
    got = []
    for line in out.stdout.splitlines():
        cols = [c.split(";") for c in line.split("\t")]
        for i in range(len(cols[0])):
            got.append((cols[0][i], cols[1][i], int(cols[2][i]), int(cols[3][i]),
                        int(cols[4][i]), int(cols[5][i]), int(cols[6][i])))
    compare(got, expected(pcaps[1]))


def test_unreachable_collector_never_stops_the_capture(pcaps):
    """Nothing listens: the flows are still counted, the drops said once."""
    with Netns() as ns:
        r = ns.run(BIN, "capture", "-r", pcaps[1], "--flows", "--ipfix", "127.0.0.1:4739",
                   "--interval", "0", timeout=60)
        assert r.returncode == 0, r.stderr
        assert r.stdout.count("\n") > 100          # --flows still printed
        assert r.stderr.count("flow export to 127.0.0.1:4739") <= 1
        assert "dropped" in r.stderr
        t = ns.run(BIN, "capture", "-r", pcaps[1], "--ipfix", "127.0.0.1:4739",
                   "--ipfix-transport", "tcp", timeout=60)
        assert t.returncode == 0 and "flow export to 127.0.0.1:4739" in t.stderr, t.stderr


def test_ipfix_options_are_checked():
    for args, msg in ((["--netflow9"], "go with --ipfix"),
                      (["--ipfix", "127.0.0.1:4739", "--netflow9", "--ipfix-transport", "tcp"],
                       "UDP only"),
                      (["--ipfix", "collector.example:4739"], "--ipfix"),
                      (["--ipfix", "127.0.0.1:4739", "--ipfix-transport", "sctp"], "udp or tcp"),
                      (["--ipfix", "127.0.0.1:4739", "-w", "/tmp/x.pcap"], "-w")):
        r = subprocess.run([BIN, "capture", "-r", REAL, *args], capture_output=True, text=True,
                           timeout=30)
        assert r.returncode == 2 and msg in r.stderr, (args, r.stderr)


def test_bad_collector_refused_before_the_interface_opens():
    """A live capture on lo with a bad --ipfix: one clean line, exit 2, and
    nothing said about listening (the interface is never opened)."""
    for bad, msg in (("127.0.0.1:65536", "portkit: --ipfix: invalid port '65536'"),
                     ("bad", "portkit: --ipfix: invalid address 'bad'")):
        r = subprocess.run([BIN, "capture", "-i", "lo", "-c", "1", "--ipfix", bad],
                           capture_output=True, text=True, timeout=30,
                           stdin=subprocess.DEVNULL)
        lines = r.stderr.splitlines()
        assert r.returncode == 2 and len(lines) == 1, r.stderr
        assert lines[0].startswith(msg) and "listening" not in r.stderr, r.stderr
        assert r.stderr.count("--ipfix") == 1 and r.stdout == "", r.stderr


def test_interim_records_are_deltas(tmp_path):
    """A TCP session over 6 s with --interval 1: several records a direction,
    and what nfdump adds up is the flow's totals."""
    need("nfcapd", "nfdump")
    a, b = pcapgen.A, pcapgen.B
    path = str(tmp_path / "long.pcap")
    w = pcapgen.Writer(path, 101)
    t = pcapgen.BASE
    w.add(t, pcapgen.ipv4(a, b, 6, pcapgen.tcp(a, b, 40001, 80, "S", 1)))
    w.add(t + 0.01, pcapgen.ipv4(b, a, 6, pcapgen.tcp(b, a, 80, 40001, "SA", 9, 2)))
    for i in range(12):
        t += 0.5
        w.add(t, pcapgen.ipv4(a, b, 6, pcapgen.tcp(a, b, 40001, 80, "PA", 2 + 10 * i, 10,
                                                     b"q" * 10)))
        w.add(t + 0.01, pcapgen.ipv4(b, a, 6, pcapgen.tcp(b, a, 80, 40001, "PA", 10 + 100 * i,
                                                           12 + 10 * i, b"r" * 100)))
    w.close()
    got, _ = collect(tmp_path, path, "--interval", "1")
    # collect() asked for --interval 0 first; the later option wins
    assert len(got) > 4
    total = {}
    for x in got:
        k = x[:5]
        total[k] = (total.get(k, (0, 0))[0] + x[5], total.get(k, (0, 0))[1] + x[6])
    compare([k + v for k, v in total.items()], expected(path))


def test_a_broken_file_exported_is_one_line(tmp_path):
    """A pcap cut inside its second packet, exported: exit 2 and one line,
    the read error (the export's summary came first: two lines); the same
    file whole says the summary."""
    import socket
    data = open(REAL, "rb").read()
    first = 24 + 16 + int.from_bytes(data[32:36], "little")
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(data[:first + 20])
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as collector:
        collector.bind(("127.0.0.1", 0))        # takes what is sent: no ICMP, no warning
        to = f"127.0.0.1:{collector.getsockname()[1]}"
        for extra in ([], ["--flows"]):
            r = subprocess.run([BIN, "capture", "-r", str(cut), "--ipfix", to, *extra],
                               capture_output=True, text=True, timeout=30)
            lines = r.stderr.splitlines()
            assert r.returncode == 2 and len(lines) == 1 and "truncated" in lines[0], r.stderr
        r = subprocess.run([BIN, "capture", "-r", REAL, "--ipfix", to],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 0 and r.stderr.startswith("portkit: sent "), r.stderr
