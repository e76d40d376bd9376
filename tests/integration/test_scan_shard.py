"""portkit scan --shard, --resume and --merge, in namespaces this test creates.

A 'scanner' namespace and a 'target' one on a veth: the target holds 8
addresses of 198.18.30.16/28 (the other 8 are down: no ARP answer), a few
listeners, and drops two ports (silent: filtered, so retried). Probes are
counted on the wire with tcpdump in the target namespace.
"""
import collections
import json
import os
import signal
import struct
import subprocess
import time

import pytest

from conftest import BIN
from netns import Netns
from shardlab import ACCEPTOR

HERE = os.path.dirname(__file__)
PY = "/usr/bin/python3"
NET = "198.18.30.16/28"
UP = [f"198.18.30.{h}" for h in range(17, 25)]
OPEN = [22, 80, 111, 199]
DROP = [50, 150]


@pytest.fixture(scope="module")
def lab():
    scanner, target = Netns(), Netns()
    try:
        scanner.link(target, "198.18.30", 30)
        for a in UP:
            target.ip("addr", "add", f"{a}/24", "dev", "pkt30")
        target.run("sysctl", "-qw", "net.ipv4.icmp_ratelimit=0")
        for rule in ("add table inet pkdrop",
                     "add chain inet pkdrop in { type filter hook input priority 0 ; }",
                     "add rule inet pkdrop in tcp dport { 50, 150 } drop"):
            r = target.run("nft", *rule.split())
            assert r.returncode == 0, r.stderr
        p = target.spawn(PY, ACCEPTOR, 3600, *map(str, OPEN))
        p.stdout.readline()
        u = target.spawn(PY, os.path.join(HERE, "helpers/udpservers.py"), "dns:53")
        u.stdout.readline()
        scanner.tgt = target
        yield scanner
    finally:
        target.close()
        scanner.close()


class Wire:
    """tcpdump in the target namespace: the probes that reach it."""

    def __init__(self, ns, path, filt):
        self.path = path
        self.ns = ns
        self.p = subprocess.Popen(ns.cmd("tcpdump", "--immediate-mode", "-B", "16384", "-U", "-n", "-i", "pkt30", "-w", path,
                                         with_mark(filt)),
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        line = self.p.stderr.readline()     # "listening on pkt30, ..." once it is ready
        assert "listening" in line, line

    def stop(self):
        flush_capture(self.ns, "198.18.30.1", self.path)   # out of pkt30, to the scanner
        self.p.send_signal(signal.SIGINT)   # the process this test started, by its handle
        self.p.wait(timeout=10)
        stats = self.p.stderr.read()
        assert "\n0 packets dropped by kernel" in stats, stats
        return probes(self.path)


MARK = b"portkit-test-capture-flush"


def with_mark(filt):
    """a capture filter that also takes flush_capture()'s datagram"""
    return f"({filt}) or (udp and dst port 9)"


def flush_capture(ns, to, path, timeout=20):
    """Send a marked datagram from ns to `to` through the captured link and
    wait (bounded) until tcpdump has written it to path: whatever crossed the
    link before it is in the file then. A wait on a condition, not on time."""
    send = ("import socket\n"
            f"socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto({MARK!r}, ({to!r}, 9))\n")
    r = ns.run(PY, "-c", send)
    assert r.returncode == 0, r.stderr
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open(path, "rb") as f:
            if MARK in f.read():
                return
        time.sleep(0.05)    # polling the file, bounded by the deadline
    pytest.fail(f"tcpdump did not write the flush marker within {timeout} s")


def probes(path, by_source=False):
    """(dst, dport) of every IPv4 TCP SYN or UDP datagram in a pcap (Ethernet);
    (src, dst, dport) with by_source."""
    out = collections.Counter()
    with open(path, "rb") as f:
        data = f.read()
    off = 24
    while off + 16 <= len(data):
        incl = struct.unpack_from("<I", data, off + 8)[0]
        pkt = data[off + 16: off + 16 + incl]
        off += 16 + incl
        if len(pkt) < 34 or pkt[12:14] != b"\x08\x00":
            continue
        ip = pkt[14:]
        ihl = (ip[0] & 15) * 4
        dst = ".".join(map(str, ip[16:20]))
        key = (".".join(map(str, ip[12:16])), dst) if by_source else (dst,)
        l4 = ip[ihl:]
        if ip[9] == 17 and l4[8:8 + len(MARK)] == MARK:
            continue                                # flush_capture()'s, not a probe
        if (ip[9] == 6 and len(l4) >= 14 and l4[13] & 0x12 == 0x02) or \
                (ip[9] == 17 and len(l4) >= 8):     # a SYN (not a SYN-ACK), a datagram
            out[key + (struct.unpack_from(">H", l4, 2)[0],)] += 1
    return out


def run_scan(ns, *args, timeout=120):
    r = ns.run(BIN, "scan", *map(str, args), "--json", timeout=timeout)
    assert r.returncode == 0, r.stderr
    return [json.loads(l) for l in r.stdout.splitlines()]


def findings(recs):
    """What a result says, without timings: ports and hosts."""
    ports = sorted((r["addr"], r["proto"], r["port"], r["state"], r["reason"])
                   for r in recs if "port" in r)
    hosts = sorted((r["addr"], r["status"], r["reason"]) for r in recs if "status" in r)
    return ports, hosts


def wire_scan(ns, tmp, name, args, filt):
    w = Wire(ns.tgt, str(tmp / f"{name}.pcap"), filt)
    recs = run_scan(ns, *args)
    return recs, w.stop()


SYN_ONLY = "tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn"


def test_four_syn_shards_are_the_single_scan_with_no_probe_twice(lab, tmp_path):
    """4 shards, all at once from one host (same seed, same source port),
    give exactly the single scan's result; every pair gets the same probes
    on the wire as in the single scan (dropped ports their retry too: a
    shard must not take another's answers for its own and stop early)."""
    base = [NET, "-p", "1-200", "-s", "syn", "--seed", "11", "--all", "--retries", "1",
            "--rate", "10000"]
    single, wire1 = wire_scan(lab, tmp_path, "single", base, SYN_ONLY)
    ports, hosts = findings(single)
    assert len(ports) == len(UP) * 200 and len(hosts) == 16
    assert sorted({p[2] for p in ports if p[3] == "open"}) == OPEN
    assert {p[2] for p in ports if p[3] == "filtered"} == set(DROP)
    assert all(wire1[(a, p)] == 2 for a in UP for p in DROP), "a silent pair is retried"
    w = Wire(lab.tgt, str(tmp_path / "shards.pcap"), SYN_ONLY)
    procs = [subprocess.Popen(lab.cmd(BIN, "scan", *base, "--shard", f"{i}/4", "--json"),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for i in (3, 1, 4, 2)]
    outs = [p.communicate(timeout=120) for p in procs]
    union = w.stop()
    assert all(p.returncode == 0 for p in procs), [o[1] for o in outs]
    shards = [[json.loads(l) for l in o[0].splitlines()] for o in outs]
    assert [recs[0]["shard"] for recs in shards] == [3, 1, 4, 2]
    assert all(recs[0]["scan"] == "portkit" for recs in shards)
    assert union == wire1, "the shards' probes are the single scan's, pair by pair"
    assert sum(union.values()) == sum(wire1.values())
    got = sorted({p for recs in shards for p in findings(recs)[0]})
    assert got == ports
    assert sum(len(findings(r)[0]) for r in shards) == len(ports)   # each pair in one shard
    assert {h for recs in shards for h in findings(recs)[1]} == set(hosts)
    # and merged: one result, ordered as the single scan orders it
    files = []
    for n, recs in enumerate(shards):
        f = tmp_path / f"shard{n}.json"
        f.write_text("".join(json.dumps(r) + "\n" for r in recs))
        files.append(str(f))
    r = subprocess.run([BIN, "scan", "--merge", *files, "--json"], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    merged = [json.loads(l) for l in r.stdout.splitlines()]
    assert findings(merged) == (ports, hosts)
    order = [(tuple(map(int, x["addr"].split("."))), x["port"]) for x in merged if "port" in x]
    assert order == sorted(order)
    first = [x for x in merged if "port" in x][0]
    assert set(first) == set([x for x in single if "port" in x][0])


@pytest.mark.parametrize("method,ports", [("connect", "1-200"), ("udp", "40-70")])
def test_shards_of_connect_and_udp(lab, tmp_path, method, ports):
    """Every method shards: the union is the single scan, and no pair is
    probed by two shards (the UDP payloads of one probe count as one pair)."""
    base = [NET, "-p", ports, "-s", method, "--all", "--seed", "5", "--rate", "3000"]
    filt = "udp and src host 198.18.30.1" if method == "udp" else SYN_ONLY
    single, wire1 = wire_scan(lab, tmp_path, f"{method}-single", base, filt)
    seen = collections.Counter()
    got = set()
    for i in (2, 1, 3):
        recs, wire = wire_scan(lab, tmp_path, f"{method}{i}", base + ["--shard", f"{i}/3"], filt)
        assert not set(wire) & set(seen), "a pair probed by two shards"
        seen.update({k: 1 for k in wire})
        got |= set(findings(recs)[0])
    assert sorted(got) == findings(single)[0]
    assert set(seen) == set(wire1)


def kill_midway(ns, args, state, wait_lines=200, limit=30):
    """Start a scan with --resume, SIGKILL it once its state holds some results."""
    p = subprocess.Popen(ns.cmd(BIN, "scan", *args, "--resume", state, "--json"),
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + limit
    try:
        while time.time() < deadline and p.poll() is None:
            if os.path.exists(state) and open(state).read().count("\np ") >= wait_lines:
                break
            time.sleep(0.05)
        assert p.poll() is None, "the scan ended before it could be killed"
    finally:
        p.kill()        # this test's own process, by its handle
        p.wait(timeout=10)
    return open(state).read().count("\np ")


@pytest.mark.parametrize("method", ["syn", "connect"])
def test_resume_after_sigkill_finishes_with_the_same_result(lab, tmp_path, method):
    base = [NET, "-p", "1-200", "-s", method, "--all", "--rate", "600"]
    whole = findings(run_scan(lab, *base))
    state = str(tmp_path / "scan.state")
    had = kill_midway(lab, base, state)
    assert 0 < had < len(whole[0])
    resumed = run_scan(lab, *base, "--resume", state)
    got = findings(resumed)
    assert got[1] == whole[1]
    assert got[0] == whole[0], (set(got[0]) ^ set(whole[0]), len(got[0]), len(whole[0]))
    assert "phase done" in open(state).read()
    assert not os.path.exists(state + ".tmp")
    # a state of other options is refused, with one line
    r = lab.run(BIN, "scan", NET, "-p", "1-100", "-s", method, "--all", "--resume", state)
    assert r.returncode == 2 and len(r.stderr.splitlines()) == 1, r.stderr
    assert "is the state of another scan (not the same ports); not resuming" in r.stderr


def test_merge_refuses_other_scans(tmp_path, pk):
    outs = {}
    for name, args in (("a", ["-p", "1-20", "--shard", "1/2"]), ("b", ["-p", "1-20", "--shard", "2/2"]),
                       ("c", ["-p", "1-30", "--shard", "2/2"]),
                       ("d", ["-p", "1-20", "--shard", "2/2", "--seed", "3"])):
        r = pk("scan", "127.0.0.1", "-Pn", "-s", "connect", "--all", "--json", *args)
        assert r.rc == 0, r.err
        outs[name] = tmp_path / f"{name}.json"
        outs[name].write_text(r.out)
    r = pk("scan", "--merge", str(outs["a"]), str(outs["b"]), "--json")
    assert r.rc == 0 and len([l for l in r.out.splitlines() if '"port"' in l]) == 20, r.err
    for other, what in (("c", "ports"), ("d", "seed")):
        r = subprocess.run([BIN, "scan", "--merge", "a.json", f"{other}.json"], cwd=tmp_path,
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 2 and r.stderr.splitlines() == [
            f"portkit: '{other}.json' is from another scan than 'a.json' (not the same {what})"]
    r = pk("scan", "--merge", str(outs["a"]), str(outs["a"]))
    assert r.rc == 2 and "is shard 1/2 again" in r.err
    plain = tmp_path / "plain.json"
    plain.write_text(pk("scan", "127.0.0.1", "-Pn", "-p", "1", "--all", "--json").out)
    r = pk("scan", "--merge", str(plain))
    assert r.rc == 2 and "does not begin with a scan record" in r.err


def shards_over_ssh(tmp_path, net, hosts, ports, open_ports, n=4, rate=2000):
    """GNU parallel over ssh into namespaces standing for n machines: the
    shards' union is the single scan's result, pair by pair on the wire."""
    import shutil
    from shardlab import shard_lab, parallel_shards
    if not shutil.which("parallel"):
        pytest.skip("GNU parallel is not installed (Debian package parallel)")
    with shard_lab(str(tmp_path), n, hosts, open_ports) as (ctl, target, ms, ssh, logins):
        args = [BIN, "scan", net, "-p", ports, "-s", "syn", "--seed", "23", "--all", "--rate", str(rate)]

        def capture(name):
            # not --immediate-mode: tcpdump keeps up with 4 shards at once
            # when it reads whole blocks (each retired within 1 s, waited for)
            p = subprocess.Popen(target.cmd("tcpdump", "-B", "65536", "-U", "-n", "-i", "pkbr41", "-w",
                                            str(tmp_path / name), with_mark(SYN_ONLY)),
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            assert "listening" in p.stderr.readline()
            return p

        def stop(p, name):
            flush_capture(target, "198.18.43.11", str(tmp_path / name))    # to m1, out of pkbr41
            p.send_signal(signal.SIGINT)
            p.wait(timeout=10)
            stats = p.stderr.read()
            assert "\n0 packets dropped by kernel" in stats, stats
            return probes(str(tmp_path / name))

        p = capture("single.pcap")
        r = ms[0].run(*args, "--json", timeout=600)
        assert r.returncode == 0, r.stderr
        wire1 = stop(p, "single.pcap")
        single = [json.loads(l) for l in r.stdout.splitlines()]
        p = capture("shards.pcap")
        outs = parallel_shards(ctl, ssh, logins, args, n, str(tmp_path / "res"))
        wire = stop(p, "shards.pcap")
        by_src = probes(str(tmp_path / "shards.pcap"), by_source=True)
        senders = collections.Counter((d, port) for (_, d, port) in by_src)
        shards = [[json.loads(l) for l in o.splitlines()] for o in outs]
        files = []
        for i, o in enumerate(outs):
            files.append(str(tmp_path / f"shard{i + 1}.json"))
            open(files[-1], "w").write(o)
        r = subprocess.run([BIN, "scan", "--merge", *files, "--json"], capture_output=True,
                           text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        ports_single = findings(single)[0]
        got = sorted(p for s in shards for p in findings(s)[0])
        return {
            "syn_single": sum(wire1.values()), "syn_shards": sum(wire.values()),
            "pairs_by_two_shards": sum(1 for v in senders.values() if v > 1),
            "pairs_probed_unlike_single": sum(1 for k in set(wire) | set(wire1)
                                              if wire[k] != wire1[k]),
            "records_single": len(ports_single), "records_shards": len(got),
            "records_differing": len(set(got) ^ set(ports_single)),
            "same_records": got == ports_single,
            "same_hosts": {h for s in shards for h in findings(s)[1]} == set(findings(single)[1]),
            "merge_is_single": findings([json.loads(l) for l in r.stdout.splitlines()])
            == findings(single),
            "wire_equal": wire == wire1,
        }


def test_parallel_over_ssh_shards(tmp_path):
    """CI size: a /28 (8 hosts up) x 200 ports over 4 machines."""
    got = shards_over_ssh(tmp_path, "198.18.42.32/28", range(32, 40), "1-200", [22, 80, 111])
    assert got == {"syn_single": 1600, "syn_shards": 1600, "pairs_by_two_shards": 0,
                   "pairs_probed_unlike_single": 0, "records_single": 1600,
                   "records_shards": 1600, "records_differing": 0, "same_records": True,
                   "same_hosts": True, "merge_is_single": True, "wire_equal": True}


def test_k8s_indexed_job_maps_the_index_to_the_shard(tmp_path):
    """contrib/k8s: an Indexed Job, completions N, whose command turns
    JOB_COMPLETION_INDEX 0..N-1 into --shard 1/N..N/N (run here with a
    stand-in portkit that prints its arguments; no cluster needed)."""
    yaml = pytest.importorskip("yaml")
    path = os.path.join(HERE, "..", "..", "contrib", "k8s", "portkit-scan-job.yaml")
    docs = [d for d in yaml.safe_load_all(open(path)) if d]
    job = [d for d in docs if d["kind"] == "Job"][0]
    spec = job["spec"]
    assert job["apiVersion"] == "batch/v1" and spec["completionMode"] == "Indexed"
    n = spec["completions"]
    c = spec["template"]["spec"]["containers"][0]
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "portkit").write_text('#!/bin/sh\necho "$@"\n')
    (fake / "portkit").chmod(0o755)
    results = tmp_path / "results"
    results.mkdir()
    shards = set()
    for index in range(n):
        script = " ".join(c["command"][2:]) if c["command"][:2] == ["/bin/sh", "-c"] else None
        assert script, c["command"]
        script = script.replace("/results", str(results))
        env = {"PATH": f"{fake}:/usr/bin:/bin", "JOB_COMPLETION_INDEX": str(index)}
        r = subprocess.run(["/bin/sh", "-c", script], env=env, capture_output=True, text=True,
                           timeout=10)
        assert r.returncode == 0, r.stderr
        out = (results / f"shard-{index + 1}.json").read_text()
        words = out.split()
        shards.add(words[words.index("--shard") + 1])
        assert "--seed" in words and "--resume" in words
    assert shards == {f"{i}/{n}" for i in range(1, n + 1)}
