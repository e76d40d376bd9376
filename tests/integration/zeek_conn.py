"""Compare portkit's flows with Zeek's conn.log baselines (tests/data/zeek).

Used by test_zeek.py and runnable by hand for a report:

    python3 tests/integration/zeek_conn.py [-v]

Baselines carry no timestamps (btest masks them) and some keep only a few
columns (btest-diff-cut), so rows are paired, not joined: by protocol and
the two ends (either direction; addresses only for Zeek's
unknown_transport), and where several rows share them, each expected row
takes the portkit row it agrees with most.
"""
import collections
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
DATA = os.path.join(ROOT, "tests", "data", "zeek")
BIN = os.environ.get("PORTKIT", os.path.join(ROOT, "build", "portkit"))

FIELDS = ["conn_state", "history", "orig_pkts", "resp_pkts", "orig_ip_bytes",
          "resp_ip_bytes", "orig_bytes", "resp_bytes", "duration"]
ENDS = ["id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p"]


def parse(text):
    cols, rows = None, []
    for line in text.split("\n"):
        if line.startswith("#fields"):
            cols = line.split("\t")[1:]
        elif line and not line.startswith("#"):
            if cols is None:		# a btest-diff-cut header
                cols = line.split("\t")
            else:
                rows.append(dict(zip(cols, line.split("\t"))))
    return rows


def cases():
    with open(os.path.join(DATA, "cases.tsv")) as f:
        for line in f:
            if line.strip() and not line.startswith("#"):
                name, trace, ignore = line.rstrip("\n").split("\t")
                yield name, trace, ignore == "yes"


def ends(r):
    return tuple(r.get(k) for k in ENDS)


def pair_key(r):
    if r["proto"] == "unknown_transport":
        return (r["proto"],) + tuple(sorted([r["id.orig_h"], r["id.resp_h"]]))
    return (r["proto"],) + tuple(sorted([(r["id.orig_h"], r["id.orig_p"]),
                                         (r["id.resp_h"], r["id.resp_p"])]))


def field_differs(f, want, got):
    if want is None:
        return False
    if f == "duration" and want != "-" and got not in (None, "-"):
        return abs(float(want) - float(got)) > 2e-6
    return want != got


def diffs(want, got):
    d = [f for f in FIELDS if field_differs(f, want.get(f), got.get(f))]
    if "id.orig_h" in want and want["proto"] != "unknown_transport" and ends(want) != ends(got):
        d.append("direction")
    return d


def portkit(trace, ignore_checksums):
    args = [BIN, "capture", "-r", os.path.join(DATA, "traces", trace), "--zeek"]
    if not ignore_checksums:
        args.append("--checksums")	# Zeek's default: bad checksums count for nothing
    out = subprocess.run(args, capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(args)}: exit {out.returncode}: {out.stderr.strip()}")
    return parse(out.stdout)


def compare(name, trace, ignore_checksums):
    """[(expected row, portkit row or None, [fields that differ])], extra rows"""
    with open(os.path.join(DATA, "baselines", name, "conn.log")) as f:
        want = parse(f.read())
    got = portkit(trace, ignore_checksums)
    res = []
    if want and "id.orig_h" not in want[0]:
        left = list(got)
        for w in want:
            g = min(left, key=lambda g: len(diffs(w, g))) if left else None
            if g is not None:
                left.remove(g)
            res.append((w, g, ["missing"] if g is None else diffs(w, g)))
        return res, left
    pool = collections.defaultdict(list)
    for g in got:
        pool[pair_key(g)].append(g)
    for w in want:
        c = pool.get(pair_key(w))
        g = None
        if c:
            g = min(c, key=lambda g: len(diffs(w, g)))
            c.remove(g)
        res.append((w, g, ["missing"] if g is None else diffs(w, g)))
    return res, [g for v in pool.values() for g in v]


def describe(name, w):
    if "id.orig_h" in w:
        return f"{name} {w['proto']} {w['id.orig_h']}:{w['id.orig_p']} > {w['id.resp_h']}:{w['id.resp_p']}"
    return f"{name} {w.get('uid', '?')}"


def known():
    """(case and connection, field) -> reason, from differences.tsv"""
    k = {}
    with open(os.path.join(DATA, "differences.tsv")) as f:
        for line in f:
            if line.strip() and not line.startswith("#"):
                conn, fields, reason = line.rstrip("\n").split("\t")
                for fld in fields.split(","):
                    k[(conn, fld)] = reason
    return k


def run_all():
    """Per-field counts and the list of (connection, field) that differ."""
    total = 0
    bad = collections.Counter()
    seen = []
    for name, trace, ign in cases():
        res, extra = compare(name, trace, ign)
        for w, g, d in res:
            total += 1
            for f in d:
                bad[f] += 1
                seen.append((describe(name, w), f, w, g))
        for g in extra:
            bad["extra"] += 1
            seen.append((f"{name} extra {g['proto']} {g['id.orig_h']}:{g['id.orig_p']} > "
                         f"{g['id.resp_h']}:{g['id.resp_p']}", "extra", None, g))
    return total, bad, seen


if __name__ == "__main__":
    total, bad, seen = run_all()
    k = known()
    print(f"{total} connections in {len(list(cases()))} Zeek test cases")
    for f in FIELDS + ["direction", "missing", "extra"]:
        print(f"  {f:14} {100.0 * (total - bad[f]) / total:6.2f} % equal ({bad[f]} differ)")
    for conn, f, w, g in seen:
        mark = "known" if (conn, f) in k else "NEW"
        if "-v" in sys.argv or mark == "NEW":
            print(f"{mark:5} {conn}  {f}: zeek {w.get(f) if w else '-'}, portkit {g.get(f) if g else '-'}")
