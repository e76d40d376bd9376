"""portkit scan under loss, against real Linux hosts in namespaces
(losslab.py): exact states on a lossy subnet, and --rate as a ceiling on
the wire, counted from a capture.

Loss makes the first test probabilistic; its sizes and the engines' rules
make a wrong state practically impossible. With 5 % loss each way a try
goes unanswered with q = 1 - 0.95^2 = 0.0975. Of the 800 pairs, 440 answer
(80 open, 360 closed by RST); the ICMP-rejected ones are filtered whether
their rate-limited ICMP comes or not. The engines give silent pairs four
tries past the latest try that drew an answer (PROBE_LOSS_MARGIN, at most
--max-retries 10): summed exactly over the number of pairs still silent
after each try (p_wrong() below), a state comes out wrong with p = 3.1e-5
per scan, 6.2e-5 for the two scans of this file. (Discovery, five rounds
and four past a late answer, would miss one of 16 hosts with p = 4.0e-5
if ARP were lost.)

ARP is lost too. Discovery's own ARP finds the hosts (five rounds), and
the addresses its replies carry go into the kernel's neighbour table
(core/host/neigh), so the port probes, which go through the kernel, never
wait behind its own resolution - three requests a second apart, outside
any engine's tries, which held a host's connects back until they gave up.
"""
import json
import math
import os
import shutil
import subprocess

import pytest

from conftest import BIN
from losslab import KINDS, Capture, LossLab, max_per_second, packet_times, syn_times, wrong

PORTS = range(7000, 7050)
OPEN = [7000, 7011, 7022, 7033, 7044]
NET = "198.18.70"


def p_wrong(n, q, margin, base, cap):
    """The chance that some of n answering pairs is still silent when the
    tries end: try k answers each silent pair with 1 - q; an answer on try
    k >= 1 allows tries up to k + margin (at most cap); the scan starts
    with base retries. Exact, over the binomial count left after each try."""
    dist, bad = {(n, base): 1.0}, 0.0
    for k in range(cap + 1):
        nxt = {}
        for (left, allowed), p in dist.items():
            for still in range(left + 1):
                pb = p * math.comb(left, still) * q ** still * (1 - q) ** (left - still)
                if pb < 1e-20:
                    continue
                a = max(allowed, min(k + margin, cap)) if k and still < left else allowed
                if k >= a:
                    bad += pb if still else 0
                elif still:
                    nxt[(still, a)] = nxt.get((still, a), 0) + pb
        dist = nxt
    return bad


def test_the_stated_odds():
    q = 1 - 0.95 ** 2
    assert p_wrong(440, q, 4, 1, 10) < 4e-5       # ports, one scan
    assert p_wrong(16, q, 4, 4, 10) < 5e-5        # discovery (rounds = tries)
    assert p_wrong(440, q, 1, 1, 10) > 0.03       # nmap's one-past rule: 1 in 30 scans


def records(text):
    return [json.loads(l) for l in text.splitlines()]


@pytest.fixture(scope="module")
def lossy():
    if not shutil.which("nft"):
        pytest.skip("nftables is not installed")
    with LossLab(NET, 70, [KINDS[i % 4] for i in range(16)], PORTS, OPEN, loss=5) as lab:
        yield lab


@pytest.mark.parametrize("method", ["syn", "connect"])
def test_exact_states_under_loss(lossy, method):
    """16 hosts (plain, drop, reject-rst, reject-icmp) x 50 ports, 5 % loss
    each way, ARP included, in a /27 of which 14 addresses are empty:
    every host found, every state exact."""
    lossy.forget_neighbours()
    r = lossy.scanner.run(BIN, "scan", f"{NET}.0/27", "--exclude", f"{NET}.1", "-p",
                          "7000-7049", "-s", method, "--all", "--json", timeout=120)
    assert r.returncode == 0, r.stderr
    recs = records(r.stdout)
    up = sorted(x["addr"] for x in recs if x.get("status") == "up")
    assert up == sorted(lossy.addrs)
    got = {(x["addr"], x["port"]): x["state"] for x in recs if "port" in x}
    bad = wrong(lossy.truth(), got)
    assert bad == [], [(k, v, g, [x["reason"] for x in recs if "port" in x and (x["addr"], x["port"]) == k]) for k, v, g in bad]
    assert len(got) == 800


@pytest.fixture(scope="module")
def clean():
    if not shutil.which("nft") or not shutil.which("tcpdump"):
        pytest.skip("nftables and tcpdump are needed")
    with LossLab("198.18.71", 71, ["plain", "drop"], range(7000, 7300), OPEN, loss=0) as lab:
        yield lab


def captured(lab, tmp_path, *args, proto="tcp"):
    cap = Capture(lab.scanner, lab.bridge, str(tmp_path / "wire.pcap"), proto)
    try:
        r = lab.scanner.run(BIN, "scan", *map(str, args), "--json", timeout=120)
    finally:
        cap.stop()
    assert r.returncode == 0, r.stderr
    if proto == "udp":
        return records(r.stdout), packet_times(cap.path, "198.18.71.1", 17)
    return records(r.stdout), syn_times(cap.path, "198.18.71.1")


@pytest.mark.parametrize("method", ["syn", "connect"])
def test_rate_is_a_ceiling_on_the_wire(clean, tmp_path, method):
    """--rate 300 against a host that answers and one that drops: the SYNs
    captured on the link, in every one-second window that starts at one of
    them, are at most 300, no tolerance for the capture. Before, the
    kernel resent a connect's unanswered SYN after 1 s on its own, outside
    the limiter (up to twice --rate on the wire), and then core/rate's
    1 ms catch-up let 301 through."""
    rate = 300
    recs, times = captured(clean, tmp_path, "198.18.71.2", "198.18.71.3", "-Pn", "-s", method,
                           "-p", "7000-7299", "--rate", rate, "--all")
    got = {(x["addr"], x["port"]): x["state"] for x in recs if "port" in x}
    assert wrong(clean.truth(), got) == []
    assert len(times) >= 600
    assert max_per_second(times) <= rate, max_per_second(times)


@pytest.mark.parametrize("method", ["syn", "connect"])
def test_rate_is_a_ceiling_across_discovery(clean, tmp_path, method):
    """Without -Pn discovery's ARP requests count too, and the engine's
    limiter goes on from discovery's: at most --rate 300 in any second of
    ARP requests and SYNs. Before, the engine started a fresh limiter the
    moment the hosts had answered, and the second that held discovery's
    requests held 301."""
    path = str(tmp_path / "wire.pcap")
    cap = Capture(clean.scanner, clean.bridge, path, "arp or tcp")
    try:
        r = clean.scanner.run(BIN, "scan", "198.18.71.2", "198.18.71.3", "-s", method,
                              "-p", "7000-7299", "--rate", 300, "--json", timeout=120)
    finally:
        cap.stop()
    assert r.returncode == 0, r.stderr
    # the scanner's ARP requests (sender 198.18.71.1) and its SYNs
    out = subprocess.run(["tcpdump", "-r", path, "-tt", "-n",
                          "(arp and arp[6:2] == 1 and arp[14:4] == 0xc6124701) or "
                          "(tcp and src host 198.18.71.1 and tcp[13] & 0x12 == 2)"],
                         capture_output=True, text=True).stdout.splitlines()
    times = [float(line.split()[0]) for line in out]
    assert sum("ARP" in line for line in out) >= 2
    assert len(times) >= 602
    assert max_per_second(times) <= 300, max_per_second(times)


def test_udp_rate_is_a_ceiling_on_the_wire(clean, tmp_path):
    """UDP sends every service's payload (12) to every port: 50 ports the
    drop host drops, one try each, 600 datagrams, every one on the wire
    and at most --rate 300 in any second. Before, a port's 12 went out
    at once, in bursts past the rate."""
    rule = "add rule inet pkloss in udp dport 7100-7149 drop"
    r = clean.hosts[1].run("nft", *rule.split())
    assert r.returncode == 0, r.stderr
    recs, times = captured(clean, tmp_path, "198.18.71.3", "-Pn", "-s", "udp", "-p", "7100-7149",
                           "--retries", 0, "--max-retries", 0, "--rate", 300, "--all",
                           proto="udp")
    assert {x["state"] for x in recs if "port" in x} == {"open|filtered"}
    assert len(times) == 600
    assert max_per_second(times) <= 300, max_per_second(times)


@pytest.mark.parametrize("method", ["syn", "connect"])
def test_each_try_is_one_syn_on_the_wire(clean, tmp_path, method):
    """20 ports the drop host drops, --retries 2 --max-retries 2: exactly 3
    SYNs each on the wire, 60 in all - the kernel resends none of a
    connect's (TCP_SYNCNT, and the probe is closed before its RTO), and
    nothing is seen to be lost, so nothing adds tries."""
    recs, times = captured(clean, tmp_path, "198.18.71.3", "-Pn", "-s", method, "-p", "7100-7119",
                           "--retries", 2, "--max-retries", 2, "--all")
    assert {x["state"] for x in recs if "port" in x} == {"filtered"}
    assert len(times) == 60


def test_max_retries_zero_is_one_try(clean, tmp_path):
    """nmap's --max-retries 0: one try per port, whatever --retries says."""
    _, times = captured(clean, tmp_path, "198.18.71.3", "-Pn", "-s", "syn", "-p", "7100-7119",
                        "--retries", 3, "--max-retries", 0, "--all")
    assert len(times) == 20
