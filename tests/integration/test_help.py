"""Help and man page come from the same command descriptors: for every
command, `portkit help CMD` and the man page's section list the same
options, and every option the help lists is accepted by the parser."""
import os
import re
import subprocess

import pytest

from conftest import BIN, ROOT, run

MAN = os.path.join(os.path.dirname(BIN), "portkit.1")
COMMANDS = ["ls", "who", "scan", "forward", "capture", "audit", "port"]


def help_lines(cmd):
    """{option: takes a value} from the options section of `portkit help CMD`."""
    r = run("help", cmd)
    assert r.rc == 0, r.err
    text = r.out.split("\noptions:\n", 1)[1].split("\n\n", 1)[0]
    return {m.group(1): bool(m.group(2)) and not m.group(2).startswith("[")
            for m in re.finditer(r"^  (?:-\w, )?--([a-z][a-z0-9-]*)( \S+)?", text, re.M)}


def help_options(cmd):
    return set(help_lines(cmd))


def man_section(cmd):
    text = open(MAN).read()
    m = re.search(r"^\.SS %s\n(.*?)(?=^\.S[SH] )" % cmd, text, re.M | re.S)
    assert m, f"no section for {cmd} in {MAN}"
    return m.group(1)


@pytest.mark.parametrize("cmd", COMMANDS)
def test_help_and_man_list_the_same_options(cmd):
    listed = help_options(cmd)
    assert listed
    man = set(re.findall(r"^\.B (?:\\-\w, )?\\-\\-([a-z][a-z0-9\\-]*)", man_section(cmd), re.M))
    assert {m.replace("\\-", "-") for m in man} == listed


@pytest.mark.parametrize("cmd", COMMANDS)
def test_every_listed_option_is_accepted(cmd):
    # a value that may be wrong ("x"), then -h: the parser stops at the help,
    # so nothing runs; an option the parser did not know would be "unknown"
    for opt, takes in sorted(help_lines(cmd).items()):
        r = run(cmd, f"--{opt}", *(["x"] if takes else []), "--help")
        assert "unknown option" not in r.err, (opt, r.err)
        assert r.rc == 0 or (r.rc == 2 and f"see 'portkit {cmd} --help'" in r.err), \
            (opt, r.rc, r.err)


def test_man_page_renders():
    if not os.path.exists("/usr/bin/groff"):
        pytest.skip("groff is not installed")
    r = subprocess.run(["groff", "-man", "-Tutf8", "-ww", MAN], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0 and "scan" in r.stdout
    assert not r.stderr, r.stderr
