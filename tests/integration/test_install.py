"""`make install` into a DESTDIR: every file the README and the man page's
FILES name is there, with the paths filled in (the units, the man page),
and the man page names installed paths, never the repository's."""
import os
import re
import shutil
import subprocess

import pytest

from conftest import BIN, ROOT

BUILD = os.path.dirname(os.path.abspath(BIN))
MAN = os.path.join(BUILD, "portkit.1")
PREFIX = "/usr/local"	# the Makefile's default, which the build's man page names


def built_for_default_prefix():
    try:
        with open(os.path.join(BUILD, "paths")) as f:
            return f"@DOCDIR@|{PREFIX}/share/doc/portkit|" in f.read()
    except OSError:
        return False


pytestmark = pytest.mark.skipif(not built_for_default_prefix() or not shutil.which("make"),
                                reason="a build for another PREFIX, or no make")


def test_man_page_names_installed_files():
    with open(MAN) as f:
        man = f.read()
    assert "@" not in re.sub(r"^\.\\\".*$", "", man, flags=re.M), "a path left unfilled"
    assert "docs/" not in man and "contrib/" not in man, "a repository path"
    files = man[man.index(".SH FILES"):man.index(".SH EXAMPLES")]
    for path in [f"{PREFIX}/share/doc/portkit", f"{PREFIX}/share/bash-completion/completions/portkit",
                 f"{PREFIX}/lib/systemd/system/portkit\\-forward.service",
                 f"{PREFIX}/lib/systemd/system/portkit\\-textfile.timer",
                 f"{PREFIX}/lib/portkit/portkit\\-textfile"]:
        assert path in files, path
    examples = man[man.index(".SH EXAMPLES"):man.index(".SH SEE ALSO")]
    assert examples.count(".B portkit ") >= 5


def test_make_install(tmp_path):
    cp = subprocess.run(["make", "-s", "install", f"BUILD={BUILD}", f"DESTDIR={tmp_path}"],
                        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert cp.returncode == 0, cp.stderr
    got = {os.path.relpath(os.path.join(d, n), tmp_path)
           for d, _, ns in os.walk(tmp_path) for n in ns}
    p = PREFIX.lstrip("/")
    want = {f"{p}/bin/portkit", f"{p}/share/man/man1/portkit.1",
            f"{p}/share/bash-completion/completions/portkit", f"{p}/lib/portkit/portkit-textfile",
            f"{p}/lib/systemd/system/portkit-forward.service",
            f"{p}/lib/systemd/system/portkit-textfile.service",
            f"{p}/lib/systemd/system/portkit-textfile.timer",
            f"{p}/share/doc/portkit/README.md", f"{p}/share/doc/portkit/forward.md",
            f"{p}/share/doc/portkit/lab.md", f"{p}/share/doc/portkit/lab.svg",
            f"{p}/share/doc/portkit/lab-web.png"}
    assert want <= got, want - got
    unit = (tmp_path / p / "lib/systemd/system/portkit-forward.service").read_text()
    assert f"ExecStart={PREFIX}/bin/portkit forward" in unit and "@" not in unit
    unit = (tmp_path / p / "lib/systemd/system/portkit-textfile.service").read_text()
    assert f"ExecStart={PREFIX}/lib/portkit/portkit-textfile" in unit and "@" not in unit
    comp = tmp_path / p / "share/bash-completion/completions/portkit"
    assert "complete -F _portkit portkit" in comp.read_text()
