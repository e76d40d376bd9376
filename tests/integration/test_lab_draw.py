"""portkit lab draw: the topology as an SVG picture or Graphviz dot.

Drawing makes nothing and needs no root; it draws FILE, else the lab that
is up (one test brings a small lab up under a name of its own and takes it
down whatever happens), else the default topology. The SVG must be
well-formed XML (xmllint) and the dot must render (dot -Tsvg) without a
word on stderr; each check is skipped only when its tool is missing.
"""
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET

import pytest

from conftest import BIN, ROOT, run
from netns import need_root

SVG = "{http://www.w3.org/2000/svg}"

# two segments, six nodes: a router between them, one node on both
SMALL = """\
segment office 198.18.20.0/24
segment lab    198.18.21.0/24
node gw      router office=198.18.20.1 lab=198.18.21.1
node alice   pc     office=198.18.20.11
node bob     pc     office=198.18.20.12 serve http
node files   server office=198.18.20.10 lab=198.18.21.10 serve smb ftp
node probe   host   lab=198.18.21.20
node web     server lab=198.18.21.30 serve http http:8080 dns
"""


def default_nodes():
    out = run("lab", "up", "--print").out
    return {line.split()[1]: line.split()[2] for line in out.splitlines() if line.startswith("node ")}


def parse_svg(text):
    root = ET.fromstring(text.encode())
    assert root.tag == SVG + "svg" and root.get("version") == "1.1"
    return {g.get("id"): g for g in root.iter(SVG + "g") if g.get("id")}


def xmllint(text):
    if not shutil.which("xmllint"):
        pytest.skip("xmllint is not installed (libxml2-utils)")
    r = subprocess.run(["xmllint", "--noout", "-"], input=text, capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 0 and r.stderr == "", r.stderr


def test_draw_is_an_svg_document_naming_every_node():
    r = run("lab", "--name", "dwnone", "draw")	# no lab of that name is up: the default
    assert r.rc == 0 and r.err == ""
    assert r.out.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<svg ')
    xmllint(r.out)
    ids = parse_svg(r.out)
    nodes = default_nodes()
    assert len(nodes) == 8
    for name, role in nodes.items():
        g = ids[f"node-{name}"]
        assert g.get("class") == f"node role-{role}"
        assert int(g.get("data-x")) > 0 and int(g.get("data-y")) > 0
        assert name in [t.text for t in g.iter(SVG + "text")]
    for seg in ("lan", "wan", "users", "public"):
        assert f"seg-{seg}" in ids
    assert {"link-router-lan", "link-router-wan", "link-pc1-lan", "link-internet-public"} <= set(ids)
    # top to bottom as docs/lab.md draws it
    y = {n: int(ids[f"node-{n}"].get("data-y")) for n in nodes}
    assert y["internet"] < y["router"] < min(y[n] for n in ("server1", "pc1", "pc2", "pc3"))
    x = [int(ids[f"node-{n}"].get("data-x")) for n in ("server1", "pc1", "pc2", "pc3")]
    assert x == sorted(x)
    assert int(ids["seg-wan"].get("data-y")) < y["router"] < int(ids["seg-lan"].get("data-y"))
    # standalone: nothing fetched from elsewhere
    assert "href" not in r.out and "url(" not in r.out
    assert re.findall(r"https?://[^\"]*", r.out) == ["http://www.w3.org/2000/svg"]


def test_draw_reads_a_file_or_stdin(tmp_path):
    f = tmp_path / "small.conf"
    f.write_text(SMALL)
    r = run("lab", "draw", str(f))
    assert r.rc == 0, r.err
    xmllint(r.out)
    ids = parse_svg(r.out)
    assert {k for k in ids if k.startswith("node-")} == \
        {"node-gw", "node-alice", "node-bob", "node-files", "node-probe", "node-web"}
    assert {"seg-office", "seg-lab", "link-files-office", "link-files-lab"} <= set(ids)
    assert ">8080/tcp http<" in r.out and ">53/udp domain<" in r.out and ">445/tcp microsoft-ds<" in r.out
    p = subprocess.run([BIN, "lab", "draw", "-"], input=SMALL, capture_output=True, text=True,
                       timeout=30)
    assert p.returncode == 0 and p.stdout == r.out


def test_draw_dot_renders_without_a_warning(tmp_path):
    if not shutil.which("dot"):
        pytest.skip("dot is not installed (graphviz)")
    f = tmp_path / "small.conf"
    f.write_text(SMALL)
    for args in (["--name", "dwnone"], [str(f)]):
        r = run("lab", "draw", "--format", "dot", *args)
        assert r.rc == 0 and r.out.startswith("graph lab {\n"), r.err
        d = subprocess.run(["dot", "-Tsvg"], input=r.out, capture_output=True, text=True,
                           timeout=60)
        assert d.returncode == 0 and d.stderr == "", d.stderr
        assert "<svg" in d.stdout
    assert "node-internet" in run("lab", "--name", "dwnone", "draw", "--format", "dot").out


@pytest.mark.parametrize("text,msg", [
    ("segment lan 198.18.1.0/24\nnode a pc wan=198.18.1.2\n", "t.conf:2: unknown segment 'wan'"),
    ("segment lan 10.0.0.0/24\n", "t.conf:1: segment 'lan' is outside 198.18.0.0/15"),
])
def test_draw_a_bad_file_names_its_line(tmp_path, text, msg):
    f = tmp_path / "t.conf"
    f.write_text(text)
    r = run("lab", "draw", str(f))
    assert r.rc == 2 and r.out == "" and msg in r.err and len(r.err.splitlines()) == 1, r.err


@pytest.mark.parametrize("args,msg", [
    (["draw", "--json"], "draw writes a picture: it has no --json"),
    (["draw", "--format", "png"], "invalid --format 'png' (svg or dot)"),
    (["draw", "a", "b"], "draw takes one topology file"),
    (["up", "--format", "dot"], "--format goes with 'draw'"),
    (["draw", "--print"], "--print goes with 'up'"),
])
def test_draw_usage_errors(args, msg):
    r = run("lab", *args)
    assert r.rc == 2 and msg in r.err and r.out == "", r.err


def test_draw_needs_no_root():
    if os.geteuid() != 0:
        r = subprocess.run([BIN, "lab", "--name", "dwnone", "draw"], capture_output=True,
                           text=True, timeout=30)
    else:
        r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", BIN,
                            "lab", "--name", "dwnone", "draw"], capture_output=True, text=True,
                           timeout=30)
    assert r.returncode == 0 and "node-server1" in r.stdout, r.stderr


def test_draw_draws_the_lab_that_is_up(tmp_path):
    need_root()
    name = f"dw{os.getpid() % 100000}"
    f = tmp_path / "small.conf"
    f.write_text(SMALL)
    try:
        r = run("lab", "--name", name, "up", str(f), timeout=60)
        assert r.rc == 0, r.err
        r = run("lab", "--name", name, "draw")
        assert r.rc == 0 and 'id="node-files"' in r.out and 'id="node-server1"' not in r.out
        # its record is root's: another user is told so, not shown the default
        r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", BIN,
                            "lab", "--name", name, "draw"], capture_output=True, text=True,
                           timeout=30)
        assert r.returncode == 2 and r.stdout == ""
        assert f"cannot read the topology of lab '{name}'" in r.stderr, r.stderr
    finally:
        run("lab", "--name", name, "down", timeout=60)
    r = run("lab", "--name", name, "draw")
    assert r.rc == 0 and 'id="node-server1"' in r.out


def test_the_docs_picture_is_what_draw_writes():
    # docs/lab.md shows docs/lab.svg: after a change to the drawing, make it
    # again with `portkit lab draw > docs/lab.svg`
    with open(os.path.join(ROOT, "docs", "lab.svg")) as f:
        assert run("lab", "--name", "dwnone", "draw").out == f.read()
