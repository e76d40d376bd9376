"""portkit capture --flows beside Zeek's own conn.log baselines.

98 cases from zeek/zeek's testing/btest (traces and baselines in
tests/data/zeek, picked by scripts/zeek-corpus: plain runs only). Every
connection must agree with Zeek on conn_state, history, packets, bytes and
duration, or be listed in tests/data/zeek/differences.tsv with a reason
that docs/capture.md explains; a listed difference that went away must
leave the list too, so the list stays true.
"""
import os

import zeek_conn

REASONS = {"analyzer-limit", "content-gap", "bare-run", "analyzer-flip", "amsdu"}


def test_every_connection_agrees_with_zeek_or_is_explained():
    total, bad, seen = zeek_conn.run_all()
    known = zeek_conn.known()
    assert total >= 300, f"only {total} connections: is tests/data/zeek complete?"
    new = [f"{conn}: {f}: zeek {w.get(f) if w else '-'}, portkit {g.get(f) if g else '-'}"
           for conn, f, w, g in seen if (conn, f) not in known]
    assert not new, "differences from Zeek not in differences.tsv:\n" + "\n".join(new)
    gone = sorted(set(known) - {(conn, f) for conn, f, _, _ in seen})
    assert not gone, f"listed in differences.tsv but gone (remove them): {gone}"
    assert set(known.values()) <= REASONS


def test_every_reason_is_documented():
    with open(os.path.join(zeek_conn.ROOT, "docs", "capture.md")) as f:
        doc = f.read()
    for r in REASONS:
        assert f"`{r}`" in doc, r


def test_every_trace_reads_cleanly_in_every_mode():
    """Each of the traces (and the Community ID spec's) through every output
    mode: exit 0, nothing on stderr. Under `make asan` this is the
    sanitizers' run over real captures of every link type and tunnel."""
    import subprocess

    traces = sorted({t for _, t, _ in zeek_conn.cases()})
    paths = [os.path.join(zeek_conn.DATA, "traces", t) for t in traces]
    paths.append(os.path.join(zeek_conn.ROOT, "tests/data/community-id/combined.pcap"))
    modes = [[], ["--json"], ["--checksums", "-n"], ["--flows", "--json"], ["--summary"],
             ["--flows", "--checksums", "--interval", "1"]]
    for path in paths:
        for m in modes:
            r = subprocess.run([zeek_conn.BIN, "capture", "-r", path, *m], capture_output=True,
                               text=True, timeout=60, env={"TZ": "UTC"})
            assert r.returncode == 0 and not r.stderr, (path, m, r.returncode, r.stderr[-2000:])
