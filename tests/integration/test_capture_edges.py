"""portkit capture at the edges of issue 26: times past 2038, time that goes
backwards, deep tunnels, bad checksums under --checksums, -n with
--summary, and the filter length limit."""
import datetime
import json
import os
import re

import pytest

import pcapgen as g
from conftest import run

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


@pytest.mark.parametrize("name", TIME_FILES)
def test_times_past_2038(name):
    """tcpdump's captures at the edges of pcap's 32 bits of seconds: every
    output mode reads them (the flow table took the times libpcap gives as
    negative and indexed its wheel out of bounds), and every time shown is
    tcpdump's date, not one in 1901 or 1902."""
    path = os.path.join(TCPDUMP, name)
    want = tcpdump_time(name)
    assert want.year >= 2038
    line = ok(path).splitlines()
    assert len(line) == 1 and line[0].startswith(want.strftime("%H:%M:%S.%f ")), line
    pkt = json.loads(ok(path, "--json"))
    assert utc(pkt["ts"]) == want
    table = ok(path, "--flows").splitlines()
    assert len(table) == 2 and table[1].split()[:2] == ["udp", "192.168.1.11:43966"], table
    flow = json.loads(ok(path, "--flows", "--json"))
    assert utc(flow["start"]) == want and flow["duration"] == 0
    rows = [l.split("\t") for l in ok(path, "--zeek").splitlines() if not l.startswith("#")]
    assert len(rows) == 1 and utc(rows[0][0]) == want
    assert ok(path, "--summary").startswith("1 flows, at most 1 at once")
