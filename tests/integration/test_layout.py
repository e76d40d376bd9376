"""The source tree's shape, checked on every run: core is four layers in a
fixed order (base < wire < vocab < host), each including only itself and
the layers below it, with no circle between modules; subsystems include
only core and themselves; only the event loop waits (epoll, signalfd,
poll, select); every command file stays thin; every library has a unit
test file. No build needed: these read the sources."""
import os
import re

import pytest

from conftest import ROOT

SRC = os.path.join(ROOT, "src")
LAYERS = ["base", "wire", "vocab", "host"]
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
WAITS = re.compile(r"\b(epoll_create1?|epoll_wait|epoll_pwait2?|signalfd|poll|ppoll|select|"
                   r"pselect)\s*\(")
EVENT_LOOP = {"core/base/ev.c", "core/base/ev.h"}


def subsystems():
    with open(os.path.join(ROOT, "Makefile")) as f:
        m = re.search(r"^SUBSYSTEMS\s*:=\s*(.*)$", f.read(), re.M)
    return m.group(1).split()


def sources():
    """(path relative to src, text) of every .c and .h under src."""
    for d, _, files in os.walk(SRC):
        for n in sorted(files):
            if n.endswith((".c", ".h")):
                p = os.path.join(d, n)
                with open(p, encoding="utf-8", errors="replace") as f:
                    yield os.path.relpath(p, SRC), f.read()


def code_only(text):
    """Comments and string literals blanked (line numbers kept)."""
    out = re.sub(r"/\*.*?\*/", lambda m: re.sub(r"[^\n]", " ", m.group(0)), text, flags=re.S)
    out = re.sub(r"//[^\n]*", "", out)
    return re.sub(r'"(\\.|[^"\\\n])*"', '""', out)


def layer_of(rel):
    parts = rel.split(os.sep)
    return parts[1] if parts[0] == "core" and len(parts) > 2 else None


def test_core_is_four_layers():
    got = sorted(d for d in os.listdir(os.path.join(SRC, "core"))
                 if os.path.isdir(os.path.join(SRC, "core", d)))
    assert got == sorted(LAYERS)
    assert not [n for n in os.listdir(os.path.join(SRC, "core"))
                if n.endswith((".c", ".h"))], "core's files belong in a layer"


def test_layers_include_only_downward_and_subsystems_only_core():
    subs, bad = set(subsystems()), []
    for rel, text in sources():
        top = rel.split(os.sep)[0]
        for inc in INCLUDE.findall(text):
            parts = inc.split("/")
            if parts[0] == "core":
                if len(parts) < 3 or parts[1] not in LAYERS:
                    bad.append(f"{rel}: {inc}: not in a layer")
                elif layer_of(rel) and LAYERS.index(parts[1]) > LAYERS.index(layer_of(rel)):
                    bad.append(f"{rel} ({layer_of(rel)}) includes {inc}: a higher layer")
            elif parts[0] in subs:
                if top != parts[0] and top in subs | {"core"}:
                    bad.append(f"{rel} includes {inc}: another subsystem's header")
    assert not bad, "\n".join(bad)


def module(rel):
    """A module is a file's stem in its folder; x_int.h is x's private header."""
    stem = os.path.splitext(rel)[0]
    return stem[:-4] if stem.endswith("_int") else stem


def test_no_circle_between_modules():
    edges = {}
    for rel, text in sources():
        m = module(rel)
        for inc in INCLUDE.findall(text):
            if os.path.exists(os.path.join(SRC, inc)) and module(inc) != m:
                edges.setdefault(m, set()).add(module(inc))
    seen, stack, circles = set(), [], []

    def visit(m):
        if m in stack:
            circles.append(" -> ".join(stack[stack.index(m):] + [m]))
            return
        if m in seen:
            return
        seen.add(m)
        stack.append(m)
        for n in sorted(edges.get(m, ())):
            visit(n)
        stack.pop()

    for m in sorted(edges):
        visit(m)
    assert not circles, "\n".join(circles)


def test_only_the_event_loop_waits():
    bad = []
    for rel, text in sources():
        if rel in EVENT_LOOP:
            continue
        for i, line in enumerate(code_only(text).splitlines(), 1):
            m = WAITS.search(line)
            if m:
                bad.append(f"{rel}:{i}: {m.group(1)}()")
    assert not bad, "waits outside core/base/ev.c:\n" + "\n".join(bad)


@pytest.mark.parametrize("rel", ["cmd.c"] + [f"{s}/cmd.c" for s in subsystems()])
def test_commands_are_thin(rel):
    with open(os.path.join(SRC, rel)) as f:
        n = len(f.read().splitlines())
    assert n <= 300, f"src/{rel} has {n} lines: runtime belongs in the library"


@pytest.mark.parametrize("lib", [f"core/{l}" for l in LAYERS] + subsystems())
def test_every_library_has_unit_tests(lib):
    unit = os.path.join(ROOT, "tests", "unit")
    hits = []
    for n in sorted(os.listdir(unit)):
        if n.startswith("test_") and n.endswith(".c"):
            with open(os.path.join(unit, n)) as f:
                text = f.read()
            if "TEST(" in text and any(i.startswith(lib + "/") for i in INCLUDE.findall(text)):
                hits.append(n)
    assert hits, f"no unit test file includes a header of {lib}"
