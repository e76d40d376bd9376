"""The bash completion (build/portkit.bash, written by tools/gencomp from the
command descriptors): sourced into a bash that has nothing else, its
function is called as bash calls it on Tab (COMP_WORDS, COMP_CWORD), and
COMPREPLY is what the user would be offered. The words it offers for an
option's value are the ones the command accepts, and every option --help
lists is offered."""
import os
import re
import subprocess

import pytest

from conftest import BIN, run

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(BIN)), "portkit.bash")

pytestmark = pytest.mark.skipif(not os.path.exists(SCRIPT), reason="no " + SCRIPT)

DRIVER = r'''
source "$1"
COMP_LINE=$2 COMP_POINT=${#2}
shift 2
COMP_WORDS=("$@") COMP_CWORD=$(($# - 1))
_portkit
printf '%s\n' "${COMPREPLY[@]}"
'''


def words(line):
    """COMP_WORDS as bash splits line: at blanks, and '=' a word of its own
    (it is in COMP_WORDBREAKS); a trailing blank begins an empty word."""
    w = re.findall(r"=|[^\s=]+", line)
    return w + [""] if line.endswith(" ") else w


def complete(line, cwd=None):
    """What Tab offers at the end of line."""
    cp = subprocess.run(["bash", "--norc", "--noprofile", "-c", DRIVER, "driver", SCRIPT, line,
                         *words(line)], capture_output=True, text=True, timeout=30, cwd=cwd)
    assert cp.returncode == 0 and not cp.stderr, cp.stderr
    return sorted(w for w in cp.stdout.split("\n") if w)


def test_commands():
    assert complete("portkit sc") == ["scan"]
    assert complete("portkit s") == ["scan", "serve"]
    assert set(complete("portkit ")) == {"ls", "who", "scan", "forward", "capture", "audit",
                                         "port", "nat", "serve", "lab", "top", "help"}
    assert complete("portkit help ca") == ["capture"]


def test_options_per_command_long_and_short():
    assert complete("portkit scan --to") == ["--top"]	# not --top-ports: unlisted
    assert complete("portkit scan -s") == ["-s"]	# the letter alone: a blank, then its value
    assert "--ipfix-transport" in complete("portkit capture --ip")
    assert complete("portkit who --pr") == ["--proto"]
    # before a command, ls's options (main() runs ls) and --version
    assert "--version" in complete("portkit --")
    assert "--state" in complete("portkit --st")


def test_option_values():
    assert complete("portkit scan -s ") == ["connect", "syn", "udp"]
    assert complete("portkit scan --method=s") == ["syn"]
    assert complete("portkit scan -su") == ["-sudp"]
    assert complete("portkit ls --state syn") == ["syn-recv", "syn-sent", "synchronized"]
    assert "time-wait" in complete("portkit ls --state ")
    assert complete("portkit --state est") == ["established"]	# ls by default
    assert complete("portkit ls --by ") == ["remote"]
    assert complete("portkit nat --state TIME") == ["TIME-WAIT"]
    assert complete("portkit audit --fail-on ") == ["high", "info", "low", "medium"]
    assert complete("portkit capture --ipfix-transport ") == ["tcp", "udp"]
    assert complete("portkit port -P s") == ["sctp"]
    assert complete("portkit lab draw --format ") == ["dot", "svg"]
    # a value that is not enumerable gets no options offered
    assert complete("portkit scan --rate ") == []


def test_services_for_ports_and_lists():
    assert "ssh" in complete("portkit scan -p ss")
    assert "https" in complete("portkit ls --port htt")
    assert "ssh,https" in complete("portkit scan -p ssh,http")
    assert "rdp" in complete("portkit port rd")	# a curated name, not IANA's
    assert "postgresql" in complete("portkit who postg")


def test_lab_subcommands_and_nodes():
    # lab's descriptor spells its subcommands for completion: they are the
    # ones its synopsis (made from its table of subcommands) shows
    usage = run("lab", "--help").out.splitlines()[0].removeprefix("usage: portkit lab ")
    alts = [a.split() for a in usage.split("  [--name")[0].split(" | ")]
    assert complete("portkit lab ") == sorted(a[0] for a in alts)
    assert [a[:2] for a in alts if "NODE" in a] == [["exec", "NODE"]]
    assert [a[:2] for a in alts if "[FILE]" in a] == [["up", "[FILE]"], ["draw", "[FILE]"]]
    nodes = complete("portkit lab exec ")
    # the nodes of lab's default topology, and its switch
    out = run("lab", "up", "--print").out
    want = {line.split()[1] for line in out.splitlines() if line.startswith("node ")}
    assert want and want | {"switch"} <= set(nodes)
    assert complete("portkit lab exec serv") == ["server1"]
    assert complete("portkit lab exec pc1 ") == []
    assert complete("portkit lab --name x exec pc") == ["pc1", "pc2", "pc3"]


def test_files_where_an_option_takes_one(tmp_path):
    (tmp_path / "rules.conf").write_text("")
    (tmp_path / "trace.pcap").write_text("")
    assert complete("portkit forward -c ru", cwd=tmp_path) == ["rules.conf"]
    assert complete("portkit capture -r tr", cwd=tmp_path) == ["trace.pcap"]
    assert complete("portkit lab up ru", cwd=tmp_path) == ["rules.conf"]
    assert complete("portkit lab draw ru", cwd=tmp_path) == ["rules.conf"]
    assert complete("portkit audit --policy=ru", cwd=tmp_path) == ["rules.conf"]


def script_values():
    """(command, option, word) for every enumerated value in the script."""
    with open(SCRIPT) as f:
        text = f.read()
    for cmd, opt, words in re.findall(r"^\t(\w+):(--[\w-]+)[^)]*\) REPLY='([^']*)'", text, re.M):
        for w in words.split():
            if not w.startswith("@"):
                yield cmd, opt, w


def test_every_offered_value_is_accepted():
    vals = list(script_values())
    assert len(vals) > 30
    for cmd, opt, w in vals:
        r = run(cmd, f"{opt}={w}", "--help")
        assert r.rc == 0, (cmd, opt, w, r.err)


@pytest.mark.parametrize("cmd", ["ls", "who", "scan", "forward", "capture", "audit", "port",
                                 "nat", "serve", "lab"])
def test_every_listed_option_is_offered(cmd):
    listed = set(re.findall(r"^  (?:(-\w), )?(--[\w-]+)", run(cmd, "--help").out, re.M))
    offered = set(complete(f"portkit {cmd} -"))
    assert listed
    for short, long in listed:
        assert long in offered and (not short or short in offered), (short, long)


def test_bash_completion_loads_it():
    """With bash-completion installed, the file completes portkit by its name."""
    bc = "/usr/share/bash-completion/bash_completion"
    if not os.path.exists(bc):
        pytest.skip("no bash-completion")
    cp = subprocess.run(["bash", "--norc", "-c", f'source {bc}; source "{SCRIPT}"; complete -p portkit'],
                        capture_output=True, text=True, timeout=30)
    assert "-F _portkit portkit" in cp.stdout


def test_common_options_before_the_command_and_no_globbing(tmp_path):
    """main() takes --json before the command: so does Tab. A candidate with
    a glob character (IANA's sql*net) is offered as it is, never matched
    against the files of the current directory."""
    assert complete("portkit --json po") == ["port"]
    assert complete("portkit -n --json scan -s ") == ["connect", "syn", "udp"]
    for name in ("sql-foo-net", "sqlXnet"):
        (tmp_path / name).write_text("")
    got = complete("portkit port sql", cwd=tmp_path)
    assert "sql*net" in got and "sqlXnet" not in got and "sql-foo-net" not in got, got
