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
