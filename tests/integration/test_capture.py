"""portkit capture on pcap files this suite makes itself (pcapgen.py)."""
import fcntl
import json
import os
import re
import select
import shutil
import signal
import socket
import struct
import subprocess
import termios
import time

import pytest

import pcapgen
from conftest import BIN, ROOT, run
from netns import Netns

GOLDEN = os.path.join(ROOT, "tests/data/capture/golden")
ENV = {"TZ": "UTC"}


@pytest.fixture(scope="module")
def pcaps(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("pcaps"))
    pcapgen.write_all(d)
    return d


def golden(name, text):
    path = os.path.join(GOLDEN, name)
    if os.environ.get("PORTKIT_UPDATE_GOLDEN"):
        os.makedirs(GOLDEN, exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
    with open(path) as f:
        assert text == f.read(), name


CASES = {
    "packets.txt": ["mixed.pcap", "--checksums"],
    "packets.json": ["mixed.pcap", "--checksums", "--json"],
    "packets-numeric.txt": ["mixed.pcap", "-n"],
    "flows.txt": ["mixed.pcap", "--flows", "--interval", "60"],
    "flows.json": ["mixed.pcap", "--flows", "--interval", "60", "--json"],
    "summary.txt": ["mixed.pcap", "--flows", "--summary"],
    "filter-port53.txt": ["mixed.pcap", "port", "53"],
    "sll.txt": ["sll.pcap"],
    "sll2.txt": ["sll2.pcap"],
    "raw.txt": ["raw.pcap"],
    "null.txt": ["null.pcap"],
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden(pcaps, name):
    args = CASES[name]
    r = run("capture", "-r", os.path.join(pcaps, args[0]), *args[1:], env=ENV)
    assert r.rc == 0, r.err
    golden(name, r.out)


def test_zeek_conn_log(pcaps):
    r = run("capture", "-r", os.path.join(pcaps, "mixed.pcap"), "--zeek", env=ENV)
    assert r.rc == 0
    lines = r.out.splitlines()
    assert lines[0] == "#separator \\x09" and lines[-1].startswith("#close\t")
    fields = [l for l in lines if l.startswith("#fields\t")][0].split("\t")[1:]
    types = [l for l in lines if l.startswith("#types\t")][0].split("\t")[1:]
    rows = [l.split("\t") for l in lines if not l.startswith("#")]
    assert len(fields) == len(types) and all(len(r) == len(fields) for r in rows)
    # what zeek-cut does: pick columns by name
    cut = [dict(zip(fields, r)) for r in rows]
    http = [c for c in cut if c["id.resp_p"] == "80"][0]
    assert (http["conn_state"], http["history"], http["orig_pkts"]) == ("SF", "ShADdFf", "5")
    golden("flows.zeek", "\n".join(l for l in lines if not l.startswith(("#open", "#close"))) + "\n")


def test_pcapng_reads_like_pcap(pcaps):
    a = run("capture", "-r", os.path.join(pcaps, "mixed.pcap"), env=ENV).out
    b = run("capture", "-r", os.path.join(pcaps, "mixed.pcapng"), env=ENV).out
    assert a == b and a.count("\n") == 48


def test_flows_states_and_reuse(pcaps):
    r = run("capture", "-r", os.path.join(pcaps, "mixed.pcap"), "--flows", "--json",
            "--interval", "0", env=ENV)
    flows = [json.loads(l) for l in r.out.splitlines()]
    by = {}
    for f in flows:
        by.setdefault((f["proto"], f["resp_port"]), []).append(f)
    assert [f["conn_state"] for f in by[("tcp", 22)]] == ["RSTO", "RSTO"]
    assert ("tcp", 40003) not in {(f["proto"], f["orig_port"]) for f in flows}  # cut header
    assert by[("tcp", 3389)][0]["conn_state"] == "REJ"
    assert by[("tcp", 6379)][0]["conn_state"] == "S0"
    assert by[("tcp", 443)][0]["conn_state"] == "S1"
    assert [f["conn_state"] for f in by[("udp", 123)]] == ["S0", "SF", "S0"]
    ntp = by[("udp", 123)][1]
    assert (ntp["orig_pkts"], ntp["resp_pkts"], ntp["duration"]) == (6, 6, 150.01)
    http = by[("tcp", 80)][0]
    assert http["community_id"] == "1:0dvoUAi44iHQFwwitBfoVDLuk+o="
    assert not any(f.get("interim") for f in flows)


def test_count_and_write_round_trip(pcaps, tmp_path):
    out = tmp_path / "copy.pcap"
    r = run("capture", "-r", os.path.join(pcaps, "mixed.pcap"), "-c", "10", "-w", str(out), env=ENV)
    assert r.rc == 0 and r.out == "" and "10 packets written" in r.err
    a = run("capture", "-r", os.path.join(pcaps, "mixed.pcap"), "-c", "10", env=ENV).out
    b = run("capture", "-r", str(out), env=ENV).out
    assert a == b and a.count("\n") == 10


def test_truncated_file_prints_what_it_can_then_fails(pcaps):
    r = run("capture", "-r", os.path.join(pcaps, "truncated.pcap"), env=ENV)
    assert r.rc == 2
    assert r.out.count("\n") == 47
    lines = r.err.splitlines()
    assert len(lines) == 1 and "truncated dump file" in lines[0] and "after 47 packets" in lines[0]


def test_errors(pcaps, pk):
    cases = [
        (["capture", "-r", os.path.join(pcaps, "corrupt.pcap")], "unknown file format"),
        (["capture", "-r", "/nonexistent.pcap"], "cannot read '/nonexistent.pcap'"),
        (["capture", "-r", os.path.join(pcaps, "mixed.pcap"), "port", "(("], "invalid filter"),
        (["capture", "-i", "lo", "-r", "x"], "-i and -r cannot be used together"),
        (["capture", "-i", "no-such-if0", "-c", "1"], "cannot capture on 'no-such-if0'"),
        (["capture", "-c", "0", "-r", "x"], "invalid count '0'"),
        (["capture", "-w", "x.pcap", "--flows", "-r", "y"], "cannot be combined"),
    ]
    for args, msg in cases:
        r = pk(*args)
        assert r.rc == 2, (args, r.err)
        lines = r.err.splitlines()
        assert len(lines) == 1 and msg in lines[0], (args, r.err)


def test_tshark_counts_the_same_tcp_sessions(pcaps):
    if not shutil.which("tshark"):
        pytest.skip("tshark is not installed")
    path = os.path.join(pcaps, "mixed.pcap")
    r = subprocess.run(["tshark", "-r", path, "-q", "-z", "conv,tcp"], capture_output=True,
                       text=True, timeout=60)
    convs = [l for l in r.stdout.splitlines() if "<->" in l]
    ours = [json.loads(l) for l in run("capture", "-r", path, "--flows", "--json",
                                       "--interval", "0").out.splitlines()]
    assert len([f for f in ours if f["proto"] == "tcp"]) == len(convs), r.stdout


def test_live_capture_on_loopback():
    with Netns() as ns:
        p = subprocess.Popen(ns.cmd(BIN, "capture", "-i", "lo", "-c", "3", "--json",
                                    "udp", "port", "9999"),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            # send until the capture has seen three datagrams (bounded)
            for _ in range(50):
                ns.run("/usr/bin/python3", "-c",
                       "import socket;s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);"
                       "s.sendto(b'hello',('127.0.0.1',9999))", timeout=10)
                if p.poll() is not None:
                    break
                time.sleep(0.1)
            out, err = p.communicate(timeout=20)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        recs = [json.loads(l) for l in out.splitlines()]
        assert len(recs) == 3, err
        assert all(r["dst_port"] == 9999 and r["proto"] == "udp" for r in recs)
        assert "packets captured" in err and "dropped by kernel" in err


def test_flow_fixes_toward_zeek(tmp_path):
    """Zeek's semantics where portkit used to differ: UDP history letters,
    a UDP answer seen first from a server port (DHCP 67 -> 68) flips the
    roles unless it went to the broadcast address (as in Zeek's dhcp.pcap
    baseline), an IPv6 header with another version is malformed, and
    --summary counts flows, not interim records."""
    A, B = socket.inet_aton("198.18.0.1"), socket.inet_aton("198.18.0.2")
    BC = socket.inet_aton("255.255.255.255")
    S6, D6 = (socket.inet_pton(socket.AF_INET6, a) for a in ("2001:db8::1", "2001:db8::2"))
    path = str(tmp_path / "fixes.pcap")
    w = pcapgen.Writer(path)
    w.add(1.0, pcapgen.eth(pcapgen.ipv4(A, BC, 17, pcapgen.udp(A, BC, 67, 68, b"offer"))))
    w.add(1.5, pcapgen.eth(pcapgen.ipv4(A, B, 17, pcapgen.udp(A, B, 67, 68, b"ack"))))
    w.add(2.0, pcapgen.eth(pcapgen.ipv4(B, A, 17, pcapgen.udp(B, A, 40000, 53, b"q" * 20))))
    w.add(2.1, pcapgen.eth(pcapgen.ipv4(A, B, 17, pcapgen.udp(A, B, 53, 40000, b"r" * 30))))
    # an "IPv6" ethertype whose header says version 4
    bad = bytearray(pcapgen.ipv6(S6, D6, 17, pcapgen.udp(S6, D6, 1, 2, b"x")))
    bad[0] = 0x40
    w.add(3.0, pcapgen.eth(bytes(bad), ethertype=0x86DD))
    for k in range(4):      # a long UDP session: interim records at 60 s
        w.add(10.0 + 50 * k, pcapgen.eth(pcapgen.ipv4(B, A, 17, pcapgen.udp(B, A, 40010, 123, b"n" * 48))))
    w.close()
    flows = [json.loads(l) for l in run("capture", "-r", path, "--flows", "--json",
                                        "--interval", "60").out.splitlines()]
    dhcp = sorted((f["orig_port"], f["resp_port"], f["resp_addr"], f["history"])
                  for f in flows if 67 in (f["orig_port"], f["resp_port"]))
    assert dhcp == [(67, 68, "255.255.255.255", "D"), (68, 67, "198.18.0.1", "^d")]
    dns = [f for f in flows if f["resp_port"] == 53][0]
    assert dns["history"] == "Dd" and dns["conn_state"] == "SF"
    assert not [f for f in flows if f["orig_port"] == 1 or f["resp_port"] == 1]
    packets = run("capture", "-r", path, env=ENV).out
    assert "[malformed]" in packets
    whole = [f for f in flows if not f.get("interim")]
    assert len(whole) < len(flows)          # interim records were written
    summary = run("capture", "-r", path, "--flows", "--summary", "--interval", "60").out
    assert summary.startswith(f"{len(whole)} flows,")


def test_offload_total_length_zero_and_write_errors(pcaps, tmp_path):
    """A packet captured before segmentation offload (IPv4 total length 0)
    is decoded from what was captured, with no phantom :0 flow; writing to
    a full disk is an error, not "N packets written"."""
    A, B = socket.inet_aton("198.18.0.1"), socket.inet_aton("198.18.0.2")
    seg = pcapgen.tcp(A, B, 40000, 443, "S", 1000)
    ip = bytearray(pcapgen.ipv4(A, B, 6, seg))
    ip[2:4] = b"\0\0"
    path = str(tmp_path / "tso.pcap")
    w = pcapgen.Writer(path)
    w.add(1.0, pcapgen.eth(bytes(ip)))
    w.close()
    out = run("capture", "-r", path, env=ENV).out
    assert "40000" in out and "443" in out and "[malformed]" not in out
    flows = [json.loads(l) for l in run("capture", "-r", path, "--flows", "--json").out.splitlines()]
    assert [(f["orig_port"], f["resp_port"]) for f in flows] == [(40000, 443)]
    r = run("capture", "-r", os.path.join(pcaps, "mixed.pcap"), "-w", "/dev/full")
    assert r.rc == 2, r.err
    assert r.err == "portkit: cannot write '/dev/full': No space left on device\n"


def test_signal_stops_a_quiet_live_capture():
    with Netns() as ns:
        p = subprocess.Popen(ns.cmd(BIN, "capture", "-i", "lo"), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        ns.procs.append(p)
        ready, _, _ = select.select([p.stderr], [], [], 10)   # bounded: never hang here
        assert ready and "listening on lo" in p.stderr.readline()
        p.send_signal(signal.SIGTERM)     # nothing crosses lo: no packet will wake it
        p.wait(timeout=10)
        assert p.returncode == 0


class LiveFlows:
    """A live `capture --flows --json` on lo in ns. Its output is read with
    os.read and split here, so no record hides in a reader's buffer, and
    never without a bound."""

    def __init__(self, ns, *args):
        self.p = subprocess.Popen(ns.cmd(BIN, "capture", "-i", "lo", "--flows", "--json", *args,
                                         "udp", "port", "9999"),
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        ns.procs.append(self.p)
        self.pending, err, end = b"", b"", time.monotonic() + 10
        while b"\n" not in err and time.monotonic() < end:
            ready, _, _ = select.select([self.p.stderr], [], [], max(0, end - time.monotonic()))
            chunk = os.read(self.p.stderr.fileno(), 4096) if ready else b""
            if not chunk:
                break
            err += chunk
        assert b"listening on lo" in err, err

    def records(self, want, bound):
        """Records (with the time each was read) until want(list) or bound s."""
        got, end = [], time.monotonic() + bound
        while not want(got) and time.monotonic() < end:
            ready, _, _ = select.select([self.p.stdout], [], [], max(0, end - time.monotonic()))
            if not ready:
                break
            chunk = os.read(self.p.stdout.fileno(), 65536)
            if not chunk:
                break
            *lines, self.pending = (self.pending + chunk).split(b"\n")
            got += [(time.time(), json.loads(l)) for l in lines]
        return got

    def stop(self):
        """SIGTERM: exit 0, and the records written after the last read."""
        self.p.send_signal(signal.SIGTERM)
        out, err = self.p.communicate(timeout=10)
        assert self.p.returncode == 0, err
        return [json.loads(l) for l in (self.pending + out).splitlines()]


def send_one_datagram(ns):
    """One UDP datagram to a socket that takes it (no ICMP error back)."""
    ns.run("/usr/bin/python3", "-c",
           "import socket;r=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);"
           "r.bind(('127.0.0.1',9999));s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);"
           "s.bind(('127.0.0.1',40999));s.sendto(b'hello',('127.0.0.1',9999));r.recv(10)",
           timeout=10).check_returncode()


def test_live_capture_ends_a_quiet_flow_without_another_packet():
    """The flow table's clock moves with time on a live capture, not only
    with packets: one datagram, then silence, and the flow comes out when
    its --udp-timeout has passed (goal: within 2 s of it)."""
    with Netns() as ns:
        cap = LiveFlows(ns, "--udp-timeout", "1")
        send_one_datagram(ns)
        got = cap.records(lambda g: g, 15)
        assert got, "no record for a quiet flow"
        seen, rec = got[0]
        assert (rec["orig_port"], rec["resp_port"], rec["orig_pkts"]) == (40999, 9999, 1)
        assert rec["conn_state"] == "S0" and "interim" not in rec
        late = seen - (rec["start"] + rec["duration"] + 1)
        print(f"record {late:.2f} s after the flow's timeout")
        assert late < 4, f"record {late:.2f} s after the timeout (goal 2 s; slack for load)"
        assert cap.stop() == []


def test_live_interval_records_on_a_silent_link():
    """--interval N: interim records every N s while the flow lasts, with
    no packet to carry them; then the final record at the end."""
    with Netns() as ns:
        cap = LiveFlows(ns, "--interval", "1", "--udp-timeout", "60")
        sent = time.time()
        send_one_datagram(ns)
        got = cap.records(lambda g: len(g) >= 3, 15)
        assert len(got) == 3, got
        assert all(r.get("interim") and r["orig_pkts"] == 1 for _, r in got)
        # three records a second apart: not before 2 s (not a burst), and
        # well before the bound (the clock, not a packet, wrote them)
        took = got[-1][0] - sent
        print(f"three interim records in {took:.2f} s")
        assert 2 <= took < 8, took
        rest = cap.stop()
        assert [r.get("interim") for r in rest[-1:]] == [None], rest
        assert rest[-1]["orig_pkts"] == 1 and all(r.get("interim") for r in rest[:-1])


def test_live_clock_waits_for_a_reader_that_fell_behind():
    """The clock must not pass packets still waiting in the kernel's ring:
    a capture stopped (SIGSTOP) while a flow goes on, with thousands of
    other datagrams queued behind it, still sees the flow as one."""
    with Netns() as ns:
        cap = LiveFlows(ns, "--udp-timeout", "2")
        cap.p.send_signal(signal.SIGSTOP)
        try:
            # flow A: a datagram every 0.5 s for 4 s; flow B: 3,000 between
            # each two of A's (bounded: 9 rounds)
            ns.run("/usr/bin/python3", "-c",
                   "import socket,time\n"
                   "r=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);r.bind(('127.0.0.1',9999))\n"
                   "r.setsockopt(socket.SOL_SOCKET,socket.SO_RCVBUF,1<<16)\n"
                   "a=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);a.bind(('127.0.0.1',40999))\n"
                   "b=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);b.bind(('127.0.0.1',41999))\n"
                   "for i in range(9):\n"
                   " a.sendto(b'a',('127.0.0.1',9999))\n"
                   " for k in range(3000): b.sendto(b'b',('127.0.0.1',9999))\n"
                   " time.sleep(0.5)\n", timeout=30).check_returncode()
        finally:
            cap.p.send_signal(signal.SIGCONT)
        # flow B's record comes once its 2 s are over; A's too
        got = cap.records(lambda g: {r["orig_port"] for _, r in g} >= {40999, 41999}, 20)
        recs = [r for _, r in got] + cap.stop()
        a = [r for r in recs if r["orig_port"] == 40999]
        assert [r["orig_pkts"] for r in a] == [9], a


def test_signal_ends_a_capture_reading_a_quiet_pipe(pcaps):
    """-r - from a pipe that goes quiet: SIGTERM still ends it at once,
    with the flows read so far and exit 0 (the read waits on the loop's
    signals too)."""
    with open(os.path.join(pcaps, "mixed.pcap"), "rb") as f:
        data = f.read()
    want = run("capture", "-r", os.path.join(pcaps, "mixed.pcap"), "--flows", env=ENV).out
    p = subprocess.Popen([BIN, "capture", "-r", "-", "--flows"], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, **ENV})
    try:
        p.stdin.write(data)
        p.stdin.flush()
        # ready once SIGTERM is blocked (it then comes through the loop),
        # the pipe is empty and portkit waits in epoll for more: every
        # packet written has been handled (a signal that comes earlier
        # ends the capture before the packets it has not handled yet, as
        # tcpdump's does: this test is about the wait on a quiet pipe)
        waits = {232, 281, 441}     # epoll_wait, epoll_pwait, epoll_pwait2 (x86_64)
        for _ in range(500):
            with open(f"/proc/{p.pid}/status") as st:
                blk = int(re.search(r"^SigBlk:\s*([0-9a-f]+)", st.read(), re.M).group(1), 16)
            queued = struct.unpack("i", fcntl.ioctl(p.stdin.fileno(), termios.FIONREAD,
                                                     b"\0\0\0\0"))[0]
            with open(f"/proc/{p.pid}/syscall") as sc:
                call = sc.read().split()
            if blk & (1 << (signal.SIGTERM - 1)) and queued == 0 and call and \
                    call[0].isdigit() and int(call[0]) in waits:
                break
            time.sleep(0.01)
        t0 = time.monotonic()
        p.send_signal(signal.SIGTERM)
        # stdin stays open: only the signal can end it (bounded wait; the
        # few flows fit the pipe)
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        took = time.monotonic() - t0
        out, err = p.communicate(timeout=10)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode == 0, err
    assert took < 5, took
    assert out.decode() == want, err


def test_live_ipfix_record_leaves_on_a_quiet_link():
    """A live capture exporting IPFIX: the quiet flow ends by the clock and
    its record goes to the collector within the linger, no packet needed."""
    with Netns() as ns:
        col = ns.spawn("/usr/bin/python3", "-c",
                       "import socket;c=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);"
                       "c.bind(('127.0.0.1',4739));print('ready',flush=True);c.settimeout(15)\n"
                       "for _ in range(100): print(c.recv(65535).hex(),flush=True)")
        assert col.stdout.readline().strip() == "ready"
        cap = LiveFlows(ns, "--udp-timeout", "1", "--ipfix", "127.0.0.1:4739")
        send_one_datagram(ns)
        end, found = time.monotonic() + 15, None
        while found is None and time.monotonic() < end:
            ready, _, _ = select.select([col.stdout], [], [], max(0, end - time.monotonic()))
            if not ready:
                break
            msg = bytes.fromhex(col.stdout.readline().strip())
            # IPFIX (version 10) with the flow's ports: 40999 and 9999
            if msg[:2] == b"\0\x0a" and b"\xa0\x27" in msg and b"\x27\x0f" in msg:
                found = msg
        assert found, "no IPFIX record from a live capture on a quiet link"
        assert int.from_bytes(found[2:4], "big") == len(found)
        cap.stop()


def test_community_ids_match_the_spec_baseline():
    """corelight/community-id-spec's reference IDs (tests/data/community-id),
    seed 0 and seed 1: TCP, UDP, SCTP, ICMP, ICMPv6 and a port-less protocol
    (RSVP). Every packet's ID there is its flow's ID here."""
    data = os.path.join(ROOT, "tests/data/community-id")
    for seed, base in ((0, "baseline_deflt.json"), (1, "baseline_seed1.json")):
        with open(os.path.join(data, base)) as f:
            want = json.load(f)
        r = run("capture", "-r", os.path.join(data, "combined.pcap"), "--flows", "--json",
                "--community-id-seed", str(seed))
        assert r.rc == 0, r.err
        flows = [json.loads(l) for l in r.out.splitlines()]

        def ends(proto, a, pa, b, pb):
            return (proto, frozenset([(a, pa), (b, pb)]))

        got = {}
        for fl in flows:
            ports = fl["ip_proto"] in (1, 6, 17, 58, 132)
            key = ends(fl["ip_proto"], fl["orig_addr"], fl["orig_port"] if ports else None,
                       fl["resp_addr"], fl["resp_port"] if ports else None)
            got.setdefault(key, set()).add(fl["community_id"])
        protos = set()
        for w in want:
            key = ends(w["proto"], w["saddr"], w["sport"], w["daddr"], w["dport"])
            assert key in got, f"no flow for {w}"
            assert w["communityid"] in got[key], (w, got[key])
            protos.add(w["proto"])
        assert protos == {1, 6, 17, 46, 58, 132}


def test_checksum_offload_is_not_flagged_by_default(tmp_path):
    """What checksum offload explains is not shown as an error unless
    --checksums asks: an IPv4 header checksum left 0, and the capturing
    host's own packets (Linux cooked capture marks them outgoing). A wrong
    checksum that is not 0 is flagged either way."""
    A, B = socket.inet_aton("198.18.0.1"), socket.inet_aton("198.18.0.2")

    def ip(ck):
        h = bytearray(pcapgen.ipv4(A, B, 17, pcapgen.udp(A, B, 40000, 53, b"q")))
        h[10:12] = ck
        return bytes(h)

    eth_path = str(tmp_path / "eth.pcap")
    w = pcapgen.Writer(eth_path)
    w.add(1.0, pcapgen.eth(ip(b"\0\0")))          # left to the NIC
    w.add(2.0, pcapgen.eth(ip(b"\x12\x34")))      # simply wrong
    w.close()
    sll_path = str(tmp_path / "sll.pcap")
    w = pcapgen.Writer(sll_path, link=113)
    # Linux cooked header: packet type 4 (outgoing), ARPHRD_ETHER, address, IPv4
    w.add(1.0, struct.pack(">HHH8sH", 4, 1, 6, b"\2\0\0\0\0\1\0\0", 0x0800) + ip(b"\x12\x34"))
    w.close()
    lines = run("capture", "-r", eth_path, env=ENV).out.splitlines()
    assert ["bad ip checksum" in l for l in lines] == [False, True]
    lines = run("capture", "-r", eth_path, "--checksums", env=ENV).out.splitlines()
    assert ["bad ip checksum" in l for l in lines] == [True, True]
    assert "bad" not in run("capture", "-r", sll_path, env=ENV).out
    assert "bad ip checksum" in run("capture", "-r", sll_path, "--checksums", env=ENV).out


def test_summaries_of_messages_that_span_segments(tmp_path):
    """A TLS ClientHello longer than a segment and an HTTP request line cut
    by a segment boundary are read whole on the segment that completes
    them; a ClientHello after a ChangeCipherSpec record and one in a TCP
    Fast Open SYN are found too; out-of-order pieces are not glued."""
    A, B = socket.inet_aton("198.18.0.2"), socket.inet_aton("198.18.0.1")
    hello = pcapgen.client_hello("split.example.test")
    cut = 20                                         # before the server name
    req = b"GET /a/long/path HTTP/1.1\r\nHost: x\r\n\r\n"
    ccs = b"\x14\x03\x03\x00\x01\x01"
    path = str(tmp_path / "split.pcap")
    w = pcapgen.Writer(path)

    def seg(t, sport, dport, flags, seq, payload):
        w.add(t, pcapgen.eth(pcapgen.ipv4(A, B, 6, pcapgen.tcp(A, B, sport, dport, flags, seq,
                                                                 1, payload))))
    seg(1.0, 40000, 443, "PA", 100, hello[:cut])
    seg(1.1, 40000, 443, "PA", 100 + cut, hello[cut:])
    seg(2.0, 40001, 80, "PA", 500, req[:9])
    seg(2.1, 40001, 80, "PA", 509, req[9:])
    seg(3.0, 40002, 443, "PA", 700, ccs + pcapgen.client_hello("after-ccs.example.test"))
    seg(4.0, 40003, 443, "S", 900, pcapgen.client_hello("tfo.example.test"))
    seg(5.0, 40004, 443, "PA", 100, hello[:cut])
    seg(5.1, 40004, 443, "PA", 100 + cut + 5, hello[cut + 5:])     # a gap: not glued
    w.close()
    lines = run("capture", "-r", path, env=ENV).out.splitlines()
    assert lines[0].endswith("TLS ClientHello ...")
    assert lines[1].endswith("TLS ClientHello SNI split.example.test (2 segments)")
    assert lines[2].endswith("HTTP GET /a/lo ...")
    assert lines[3].endswith("HTTP GET /a/long/path HTTP/1.1 (2 segments)")
    assert lines[4].endswith("TLS ClientHello SNI after-ccs.example.test")
    assert lines[5].endswith("TLS ClientHello SNI tfo.example.test")
    assert "SNI" not in lines[7]


def test_link_types_and_tunnels_beside_tshark():
    """tcpdump's own test captures of each link type and tunnel portkit
    decodes, beside what tshark read in them (tests/data/tcpdump): the same
    number of packets, and in each the same innermost transport and ports.
    Where the innermost packet has no ports, tshark's last ports are the
    ones it was carried in: an ICMP error's quoted datagram (portkit names
    it in the summary) or the UDP tunnel (portkit names the tunnel)."""
    data = os.path.join(ROOT, "tests/data/tcpdump")
    rows = {}
    with open(os.path.join(data, "tshark.txt")) as f:
        for line in f:
            if not line.startswith("#"):
                r = line.rstrip("\n").split("|")
                rows.setdefault(r[0], []).append(r)

    def last(v):
        return v.split(",")[-1] if v else ""

    files = sorted(rows)
    assert len(files) >= 15
    checked = 0
    for name in files:
        r = run("capture", "-r", os.path.join(data, name), "--json")
        assert r.rc == 0, r.err
        got = [json.loads(l) for l in r.out.splitlines()]
        assert len(got) == len(rows[name]), name
        for t, p in zip(rows[name], got):
            if t[8]:
                want = ("sctp", last(t[8]), last(t[9]))
            elif t[4]:
                want = ("tcp", last(t[4]), last(t[5]))
            elif t[6]:
                want = ("udp", last(t[6]), last(t[7]))
            else:
                want = None
            if p.get("src_port") is not None:
                assert (p["proto"], str(p["src_port"]), str(p["dst_port"])) == want, (name, t, p)
            elif want and p.get("proto") in ("icmp", "icmp6") and " for " in (p.get("info") or ""):
                assert f":{want[1]} > " in p["info"] and p["info"].endswith(f":{want[2]}"), (name, p)
            elif want:
                assert p.get("tunnel") and want[0] == "udp" and want[2] in ("4789", "6081"), \
                    (name, t, p)
            checked += 1
    assert checked == sum(len(v) for v in rows.values())


def test_ipv6_checksums_use_the_final_destination_and_home_address(tmp_path):
    """RFC 8200 8.1 and RFC 6275 6.3: an upper-layer checksum over IPv6
    covers the routing header's final destination (segments left > 0) and a
    mobile node's home address option, not the header's addresses."""
    s6 = socket.inet_pton(socket.AF_INET6, "2001:db8::2")
    via = socket.inet_pton(socket.AF_INET6, "2001:db8::ff")      # the header's dst
    final = socket.inet_pton(socket.AF_INET6, "2001:db8::1")
    home = socket.inet_pton(socket.AF_INET6, "2001:db8:1::9")
    # routing header type 2 (one address, segments left 1), next header UDP
    rh = bytes([17, 2, 2, 1, 0, 0, 0, 0]) + final
    # destination options: PadN(2), home address option (type 0xC9, 16 bytes)
    do = bytes([17, 2, 1, 0, 0xC9, 16]) + home + bytes([1, 0])
    path = str(tmp_path / "v6.pcap")
    w = pcapgen.Writer(path)
    w.add(1.0, pcapgen.eth(pcapgen.ipv6(s6, via, 43, pcapgen.udp(s6, final, 40000, 53, b"q"), rh),
                           ethertype=0x86DD))
    w.add(2.0, pcapgen.eth(pcapgen.ipv6(s6, final, 60, pcapgen.udp(home, final, 40001, 53, b"q"), do),
                           ethertype=0x86DD))
    # the same two with the checksum over the header's own addresses: wrong
    w.add(3.0, pcapgen.eth(pcapgen.ipv6(s6, via, 43, pcapgen.udp(s6, via, 40002, 53, b"q"), rh),
                           ethertype=0x86DD))
    w.add(4.0, pcapgen.eth(pcapgen.ipv6(s6, final, 60, pcapgen.udp(s6, final, 40003, 53, b"q"), do),
                           ethertype=0x86DD))
    w.close()
    lines = run("capture", "-r", path, "--checksums", env=ENV).out.splitlines()
    assert ["[bad checksum]" in l for l in lines] == [False, False, True, True], lines
