"""Golden output of ls and who, from a recorded sock_diag dump and /proc.

tests/data/sessions holds a recording made by its make-fixture script:
PORTKIT_DIAG_FILE replays the kernel's answers through the same parser (and
the filters through bc_run, the user-space copy of the kernel's bytecode
interpreter), PORTKIT_PROC_ROOT points owner lookups at a fake /proc.
Regenerate with PORTKIT_UPDATE_GOLDEN=1 after an intended change, and read
the diff.
"""
import json
import os

import pytest

from conftest import ROOT, run

DATA = os.path.join(ROOT, "tests/data/sessions")
FIX = json.load(open(os.path.join(DATA, "fixture.json")))
L4, L6, DUAL = FIX["tcp_listen"]
ENV = {
    "PORTKIT_DIAG_FILE": os.path.join(DATA, "diag.bin"),
    "PORTKIT_PROC_ROOT": os.path.join(DATA, "proc"),
    "PORTKIT_PASSWD_FILE": os.path.join(DATA, "passwd"),
    "TZ": "UTC",
}

CASES = {
    "ls-a.txt": ["ls", "-a"],
    "ls-a.json": ["ls", "-a", "--json"],
    "ls-default.txt": ["ls"],
    "ls-tlp.txt": ["ls", "-tlp"],
    "ls-ap.json": ["ls", "-a", "-p", "--json"],
    "ls-numeric.txt": ["ls", "-an"],
    "ls-extended.txt": ["ls", "-te"],
    "ls-extended.json": ["ls", "-te", "--json"],
    "ls-port.txt": ["ls", "-a", "--port", str(L4)],
    "ls-sport-dport.txt": ["ls", "-a", "--sport", str(L4), "--dport", f"1-{L4}"],
    "ls-addr.txt": ["ls", "-a", "::1"],
    "ls-v4-udp.txt": ["ls", "-a", "-4", "-u"],
    "ls-state.txt": ["ls", "--state", "time-wait,close-wait"],
    "ls-by-remote.txt": ["ls", "-t", "--by", "remote"],
    "ls-by-remote.json": ["ls", "-t", "--by", "remote", "--json"],
    "ls-summary.txt": ["ls", "--summary"],
    "ls-summary.json": ["ls", "--summary", "--json"],
    "who.txt": ["who", str(L4)],
    "who.json": ["who", str(L4), "--json"],
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden(name):
    r = run(*CASES[name], env=ENV)
    assert r.rc == 0, r.err
    path = os.path.join(DATA, "golden", name)
    if os.environ.get("PORTKIT_UPDATE_GOLDEN"):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(r.out)
    with open(path) as f:
        assert r.out == f.read()


def test_replay_filters_agree_with_full_listing():
    every = [json.loads(l) for l in run("ls", "-a", "--json", env=ENV).out.splitlines()]
    port = [json.loads(l) for l in run("ls", "-a", "--json", "--port", L4, env=ENV).out.splitlines()]
    assert port == [r for r in every if L4 in (r["local_port"], r["remote_port"])]
    v6 = [json.loads(l) for l in run("ls", "-a", "--json", "--src", "::/0", env=ENV).out.splitlines()]
    # as in the kernel: an IPv6 prefix matches every AF_INET6 socket it
    # covers, v4-mapped ones included when the prefix is ::/0
    assert v6 == [r for r in every if r["family"] == "inet6"]
    v4 = [json.loads(l) for l in run("ls", "-a", "--json", "--src", "127.0.0.0/8", env=ENV).out.splitlines()]
    assert v4 == [r for r in every if r["local_addr"].replace("::ffff:", "").startswith("127.")]


def test_who_lists_both_holders_with_unit_and_container():
    recs = [json.loads(l) for l in run("who", L4, "--json", env=ENV).out.splitlines()]
    lst = [r for r in recs if r["state"] == "LISTEN"][0]
    assert [o["pid"] for o in lst["owners"]] == [4242, FIX["pid"]]
    nginx = lst["owners"][0]
    assert nginx["user"] == "www-data" and nginx["container"] == "ab12" * 16
    assert nginx["unit"] == "docker-" + "ab12" * 16 + ".scope"
    assert lst["owners"][1]["unit"] == "portkit-fixture.service"


def test_bad_recording_is_an_error(tmp_path):
    bad = tmp_path / "bad.bin"
    bad.write_bytes(b"not a recording")
    r = run("ls", "-a", env=dict(ENV, PORTKIT_DIAG_FILE=str(bad)))
    assert r.rc == 2 and "is not a portkit sock_diag recording" in r.err
    trunc = tmp_path / "trunc.bin"
    trunc.write_bytes(open(ENV["PORTKIT_DIAG_FILE"], "rb").read()[:100])
    r = run("ls", "-a", env=dict(ENV, PORTKIT_DIAG_FILE=str(trunc)))
    assert r.rc == 2 and "truncated" in r.err


@pytest.mark.parametrize("name", [n for n in CASES if n.endswith(".json")])
def test_every_record_of_a_kind_has_every_key(name):
    with open(os.path.join(DATA, "golden", name)) as f:
        recs = [json.loads(line) for line in f]
    kinds = {}
    for r in recs:
        kinds.setdefault(r.get("kind"), set()).add(tuple(sorted(r)))
    assert all(len(k) == 1 for k in kinds.values()), kinds
