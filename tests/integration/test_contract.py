"""The CLI contract (../shared/CLI.md) where commands used to break it:
one output format or a usage error, conflicting options refused, error lines
that a terminal shows safely, and words people type."""
import glob
import os
import re

import pytest

from conftest import BIN, run

PCAP = sorted(glob.glob(os.path.join(os.path.dirname(__file__), "../data/tcpdump/*.pcap")))[0]


@pytest.mark.parametrize("args,msg", [
    (["capture", "-r", PCAP, "--zeek", "--json"], "--zeek and --json are two formats"),
    (["capture", "-r", PCAP, "--summary", "--json"], "--summary is a text report"),
    (["capture", "-r", PCAP, "--summary", "--zeek"], "--summary is a text report"),
    (["ls", "--watch", "--summary"], "--watch follows the session list"),
    (["ls", "--summary", "--by", "remote"], "two views"),
    (["ls", "--by", "remote", "--summary"], "two views"),
    (["scan", "--merge", "a.json", "--shard", "1/2"], "--merge reads finished shards"),
    (["scan", "127.0.0.1", "-s", "udp", "--sv"], "--sv asks TCP services"),
    (["who", "0"], "port 0 is nobody's"),
    (["ls", "--s"], "ambiguous option '--s': --state, --sport, --src, --summary"),
    (["ls", "--help=x"], "option '--help' takes no value"),
    (["ls", "--nosuch"], "unknown option '--nosuch'"),
    (["scan", "127.0.0.1", "--exclude", "127.0.0.0/8", "-p", "80"], "nothing to scan"),
    (["ls", "--watch", "0.01"], "invalid interval '0.01'"),
])
def test_conflicts_are_usage_errors(args, msg):
    r = run(*args)
    assert r.rc == 2 and r.out == "", (args, r.out)
    lines = r.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("portkit: ") and msg in lines[0], r.err


def test_forward_check_json():
    r = run("forward", "8080", "127.0.0.1:80", "--check", "--json")
    assert r.rc == 0 and r.out == '{"ok":true,"rules":1}\n', (r.out, r.err)


@pytest.mark.parametrize("args", [["port"], ["ls", "--by"], ["scan", "127.0.0.1", "-p"]])
def test_long_argument_is_quoted_short(args):
    r = run(*args, "A" * 100000)
    assert r.rc == 2
    lines = r.err.splitlines()
    assert len(lines) == 1 and len(lines[0]) < 240, lines[0][:300]
    assert re.search(r"'A{1,60}(\.\.\.)?'", lines[0]), lines[0]


def test_control_bytes_are_escaped():
    r = run("port", "\x1b[31mred\nx\x7f")
    assert r.rc == 2
    assert "\x1b" not in r.err and "\x7f" not in r.err
    lines = r.err.splitlines()
    assert len(lines) == 1 and "'\\x1b[31mred\\nx\\x7f'" in lines[0], r.err


def test_one_packet_is_singular(tmp_path):
    r = run("capture", "-r", PCAP, "-c", "1")
    assert r.rc == 0
    assert "1 packet captured" in r.err or "packet" not in r.err, r.err


@pytest.mark.parametrize("name", ["telnet", "redis", "mysql", "postgresql", "ntp", "smtp", "ftp",
                                  "ldap", "kerberos", "imap", "pop3", "mongodb", "ssh", "rdp"])
def test_port_name_answers_first_without_contradiction(name):
    recs = run("port", name, "--json").json()
    assert recs and recs[0]["port"], recs[:2]
    # no "Unassigned" row contradicting the registration, no row twice
    assert not any(r.get("description") == "Unassigned" for r in recs), recs
    keys = [(r["port"], r["proto"], r.get("service"), r.get("description")) for r in recs]
    assert len(keys) == len(set(keys)), keys
    # every record has every key
    assert len({tuple(sorted(r)) for r in recs}) == 1, [sorted(r) for r in recs]
    # the port-less registrations come last
    ported = [bool(r["port"]) for r in recs]
    assert ported == sorted(ported, reverse=True), ported


def test_reserved_is_not_called_free():
    r = run("port", "6379/udp")
    assert r.rc == 0 and "Reserved by IANA" in r.out and "free for any" not in r.out, r.out


@pytest.mark.parametrize("words,port", [("samba", 445), ("remote desktop", 3389), ("email", 25),
                                         ("printer", 515), ("database", 3306), ("web", 80)])
def test_port_knows_the_words_people_use(words, port):
    recs = run("port", words, "--json").json()
    assert port in [r["port"] for r in recs], recs


def test_unknown_word_points_to_search():
    r = run("port", "no such thing")
    assert r.rc == 2 and "try: portkit port --search 'no such thing'" in r.err, r.err


GET = os.path.join(os.path.dirname(__file__), "../data/zeek/traces/http/get.pcap")


@pytest.mark.parametrize("args", [["port", "0-65535"], ["port", "0-65535", "--json"],
                                  ["ls", "-a", "--json"], ["ls", "-a"], ["ls", "--summary"],
                                  ["scan", "127.0.0.1", "-p", "1-100"],
                                  ["scan", "127.0.0.1", "-p", "1-100", "--json"], ["audit"],
                                  ["capture", "-r", GET], ["capture", "-r", GET, "--flows"],
                                  ["capture", "-r", GET, "--zeek"], ["capture", "-r", GET, "--json"],
                                  ["forward", "--check", "80", "127.0.0.1:9"]])
def test_full_disk_is_one_line_with_the_reason(args):
    import subprocess
    from conftest import BIN
    import socket
    # ls must have something to write, in a namespace with no sockets too
    with open("/dev/full", "w") as full, socket.create_server(("127.0.0.1", 0)):
        cp = subprocess.run([BIN, *args], stdout=full, stderr=subprocess.PIPE, text=True,
                            timeout=30)
    assert cp.returncode == 2
    lines = cp.stderr.splitlines()
    if os.geteuid() and lines and "run as root" in lines[0]:
        lines = lines[1:]       # audit as non-root says first what it cannot see
    assert lines == ["portkit: cannot write output: No space left on device"], cp.stderr


@pytest.mark.parametrize("args", [["port", "0-65535"], ["port", "0-65535", "--json"]])
def test_closed_pipe_with_sigpipe_ignored_is_exit_2_with_one_line(args):
    """The contract: exit 2 comes with its one 'portkit:' line. With SIGPIPE
    ignored a reader that went away is an EPIPE like any write error (with
    SIGPIPE at its default the process ends by the signal, as every tool)."""
    import subprocess
    from conftest import BIN
    # Python ignores SIGPIPE; restore_signals=False hands that to the child
    p = subprocess.Popen([BIN, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         restore_signals=False)
    try:
        p.stdout.read(1)
        p.stdout.close()
        err = p.stderr.read()
        rc = p.wait(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert rc == 2 and err.decode().splitlines() == ["portkit: cannot write output: Broken pipe"], \
        (rc, err)


RFC3339 = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"


def test_forward_events_are_machine_readable(tmp_path):
    import json
    import signal
    from fwdutil import Fwd, free_port
    port, cfg = free_port(), tmp_path / "f.conf"
    cfg.write_text(f"127.0.0.1:{port} tcp 127.0.0.1:9\n")
    f = Fwd("-c", cfg, "--json")
    try:
        f.wait_for('"event":"listening"')
        cfg.write_text("this is not a rule\n")
        f.p.send_signal(signal.SIGHUP)
        f.wait_for('"event":"reload-rejected"')
    finally:
        text = f.stop()
    ev = [json.loads(line) for line in text.splitlines()]
    keys = {"time", "event", "rule", "proto", "listen", "target", "count", "message"}
    assert all(set(e) == keys for e in ev), ev
    assert all(re.fullmatch(RFC3339, e["time"]) for e in ev), ev
    assert [e["event"] for e in ev] == ["listening", "reload-rejected", "stopping", "stopped"]
    assert ev[0]["rule"] == f"127.0.0.1:{port}/tcp -> 127.0.0.1:9" and ev[0]["proto"] == "tcp"
    assert ev[0]["listen"] == f"127.0.0.1:{port}" and ev[0]["target"] == "127.0.0.1:9"
    assert ev[1]["rule"] is None and ":1:" in ev[1]["message"]


def test_forward_text_events_are_key_value(tmp_path):
    from fwdutil import Fwd, free_port
    port = free_port()
    f = Fwd(f"127.0.0.1:{port}", "127.0.0.1:9")
    try:
        f.wait_for(" listening ")
    finally:
        text = f.stop()
    first = text.splitlines()[0]
    assert re.fullmatch(RFC3339 + rf' listening rule="127.0.0.1:{port}/tcp -> 127.0.0.1:9" '
                        rf'listen=127.0.0.1:{port} target=127.0.0.1:9 msg="started"', first), first


def test_numeric_drops_service_names_everywhere():
    import socket
    with socket.create_server(("127.0.0.1", 0)) as srv:
        port = srv.getsockname()[1]
        checks = [
            (["scan", "127.0.0.1", "-p", f"{port},3389", "--all"], None, "RDP"),
            (["ls", "-t", "-l", "--port", str(port)], None, None),
            (["audit"], None, None),
            (["capture", "-r", os.path.join(os.path.dirname(__file__),
                                            "../data/zeek/traces/http/get.pcap"), "--flows"],
             None, "HTTP"),
        ]
        for args, iana, common in checks:
            named, plain = run(*args), run(*args, "-n")
            assert plain.rc == named.rc and plain.rc in (0, 1), (args, plain.err)
            head = plain.out.splitlines()
            assert not any("SERVICE" in line for line in head), (args, plain.out)
            for word in (iana, common):
                if word:
                    assert word in named.out and word not in plain.out, (args, word)
    r = run("port", "-n", "22")
    assert r.rc == 2 and "for scripts use --json" in r.err


def test_scan_json_service_is_the_iana_name():
    import json
    r = run("scan", "127.0.0.1", "-p", "3389,8080", "--all", "--json")
    recs = [json.loads(line) for line in r.out.splitlines() if '"port"' in line]
    by = {x["port"]: x for x in recs}
    assert by[3389]["service"] == "ms-wbt-server" and by[3389]["common_name"] == "RDP"
    assert by[8080]["service"] == "http-alt" and by[8080]["common_name"] == "HTTP (alternate)"
    assert by[8080]["reason"] in ("reset", "conn-refused")
    assert set(by[3389]) == set(by[8080])


@pytest.mark.parametrize("args", [
    ["scan", "127.0.0.1", "-p", "1-100", "-oX", "/dev/full"],
    ["scan", "127.0.0.1", "-p", "1-100", "-oG", "/dev/full"],
    ["capture", "-r", GET, "-w", "/dev/full"],
])
def test_full_disk_for_output_files(args):
    r = run(*args)
    assert r.rc == 2
    assert r.err.splitlines()[-1:] == ["portkit: cannot write '/dev/full': No space left on device"], \
        r.err


@pytest.mark.skipif(os.geteuid() != 0, reason="live capture needs root")
def test_live_capture_to_a_full_disk_is_refused_before_listening():
    """The pcap file's header is written before "listening on": a file that
    cannot take it ends the run at once with one line (it used to say
    "listening on", wait for a packet, and add the error at the end)."""
    import subprocess
    cp = subprocess.run([BIN, "capture", "-i", "lo", "-c", "1", "-w", "/dev/full"],
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=20)
    assert cp.returncode == 2
    assert cp.stderr.splitlines() == ["portkit: cannot write '/dev/full': No space left on device"], \
        cp.stderr


def test_unwritable_xml_stops_before_scanning():
    r = run("scan", "127.0.0.1", "-p", "1-100", "-oX", "/nonexistent-dir/x.xml")
    assert r.rc == 2 and r.out == ""
    assert r.err == "portkit: cannot write '/nonexistent-dir/x.xml': No such file or directory\n"


@pytest.mark.parametrize("pcap,kind", [("zeek/traces/http/get.pcap", "X"),
                                       ("zeek/traces/http/get.pcap", "A"),
                                       ("tcpdump/vxlan.pcap", "X"),
                                       ("tcpdump/erspan-type-ii-2.pcap", "X")])
def test_capture_hex_and_ascii_as_tcpdump(pcap, kind):
    data = os.path.join(os.path.dirname(__file__), "../data")
    name = os.path.basename(pcap)[:-5]
    with open(os.path.join(data, "capture/tcpdump-x", f"{name}.{kind}")) as f:
        want = f.read().splitlines()
    r = run("capture", "-r", os.path.join(data, pcap), f"-{kind}")
    assert r.rc == 0, r.err
    if kind == "X":
        got = [line for line in r.out.splitlines() if line.startswith("\t0x")]
    else:
        got = [line for line in r.out.splitlines() if not re.match(r"\d\d:\d\d:", line)]
    assert got == want


@pytest.mark.parametrize("args,msg", [
    (["capture", "-r", GET, "-v"], "-v: tcpdump's -v (more detail) is not portkit's; one line"),
    (["capture", "-r", GET, "-tttt"], "-t: tcpdump's -t/-tttt"),
    (["capture", "-r", GET, "-X", "--json"], "-X and -A show packet bytes"),
    (["capture", "-r", GET, "-A", "--flows"], "-X and -A show packet bytes"),
    (["ls", "-o"], "-o: ss's -o (timers) is not portkit's; -e"),
    (["ls", "-x"], "ss's -x (Unix sockets)"),
    (["ls", "state", "established", "( dport = :ssh or sport = :ssh )"], "ss's 'or' is not understood"),
    (["ls", "sport", "gt", ":1024"], "ss's 'gt' is not understood"),
    (["ls", "dport"], "'dport' needs a value"),
    (["scan", "127.0.0.1", "-T4"], "-T: nmap's -T0..-T5 (timing) is not portkit's; --rate"),
    (["scan", "127.0.0.1", "-O"], "nmap's -O (OS detection)"),
])
def test_other_tools_habits_point_to_portkit(args, msg):
    r = run(*args)
    assert r.rc == 2 and r.out == ""
    assert len(r.err.splitlines()) == 1 and msg in r.err, r.err


def test_ss_filter_words_mean_what_they_mean_in_ss():
    import json
    import socket
    with socket.create_server(("127.0.0.1", 0)) as srv:
        port = srv.getsockname()[1]
        c = socket.create_connection(("127.0.0.1", port))
        a, _ = srv.accept()
        try:
            def recs(*args):
                r = run("ls", "-t", "--json", *args)
                assert r.rc == 0, r.err
                return sorted((x["state"], x["local_port"], x["remote_port"])
                              for x in map(json.loads, r.out.splitlines()))
            mine = recs("state", "established", f"( dport = :{port} )")
            assert mine == recs("--state", "established", "--dport", str(port))
            assert mine == [("ESTAB", c.getsockname()[1], port)]
            assert recs("state", "listening", f"sport == :{port}") == [("LISTEN", port, None)]
            assert recs("-a", "exclude", "listening", "and", f"sport = :{port}") == \
                [("ESTAB", port, c.getsockname()[1])]
            assert recs("dst", "127.0.0.1", "dport", "eq", str(port)) == mine
        finally:
            a.close()
            c.close()


def test_ss_summary_letter():
    """-s is --summary (ss's letter), compared in a namespace of the test's
    own where nothing else opens or closes sockets between the two runs
    (on the host, other work made the two counts differ)."""
    from netns import Netns
    with Netns() as ns:
        srv = ns.spawn("/usr/bin/python3", "-c",
                       "import socket,sys;s=socket.socket();s.bind(('127.0.0.1',0));s.listen();"
                       "c=socket.create_connection(s.getsockname());a=s.accept();"
                       "print('ready',flush=True);sys.stdin.read()")
        assert srv.stdout.readline().strip() == "ready"
        r, s = ns.run(BIN, "ls", "-s"), ns.run(BIN, "ls", "--summary")
        srv.stdin.close()
    assert r.returncode == s.returncode == 0, r.stderr
    assert r.stdout.splitlines()[0].split(":")[0] == "TCP"
    assert r.stdout == s.stdout
    assert "ESTAB 2" in r.stdout and "LISTEN 1" in r.stdout
    assert not re.search(r"\b1 sockets", r.stdout)


def test_capture_lists_interfaces():
    import json
    r = run("capture", "-D", "--json")
    assert r.rc == 0, r.err
    ifs = {x["name"]: x for x in map(json.loads, r.out.splitlines())}
    assert ifs["lo"]["loopback"] and "127.0.0.1" in ifs["lo"]["addrs"]
    assert all(set(x) == set(ifs["lo"]) for x in ifs.values())
    assert run("capture", "-D").out.splitlines()[0].split()[:2] == ["INTERFACE", "STATE"]


def test_bare_address_runs_ls():
    import socket
    with socket.create_server(("127.0.0.1", 0)) as srv:
        port = srv.getsockname()[1]
        a = run("127.0.0.1", "-tl")
        b = run("ls", "-tl", "127.0.0.1")
        assert a.rc == b.rc == 0 and f"127.0.0.1:{port}" in a.out
        assert run("state", "listening", f"sport = :{port}").out == \
            run("ls", "--state", "listening", "--sport", str(port)).out
    r = run("nosuchcommand")
    assert r.rc == 2 and "unknown command 'nosuchcommand'" in r.err


def test_scan_text_every_up_host_has_its_header():
    import socket
    with socket.create_server(("127.0.0.1", 0)) as srv:
        port = srv.getsockname()[1]
        # 127.0.0.2 answers (loopback) but has nothing open on these ports
        r = run("scan", "127.0.0.1", "127.0.0.2", "-p", f"{port},1", "-s", "connect")
    assert r.rc == 0, r.err
    blocks = r.out.split("\n\n")
    assert blocks[0].startswith("127.0.0.1 (up: ") and f"{port}/tcp" in blocks[0]
    assert "ANSWERED" not in blocks[0]          # only with --sv
    assert blocks[1].startswith("127.0.0.2 (up: ") and "no open port" in blocks[1]


def test_long_write_path_is_one_short_line():
    r = run("capture", "-r", GET, "-w", "A" * 300)
    assert r.rc == 2 and len(r.err.splitlines()) == 1 and len(r.err) < 200, r.err
    assert r.err.endswith(": File name too long\n"), r.err


def test_a_filter_error_repeating_a_long_word_stays_short():
    # libpcap's message repeats the 300-digit number: it is cut
    r = run("capture", "-r", GET, "port " + "9" * 300)
    assert r.rc == 2 and len(r.err.splitlines()) == 1 and len(r.err) < 200, r.err


# ---- issue 26: every stderr line is portkit's, one short line each ----

def test_nat_and_serve_notices_start_with_portkit():
    import signal
    import subprocess
    from netns import Netns
    with Netns() as ns:
        r = ns.run(BIN, "nat")      # a new namespace tracks nothing yet
        assert r.returncode == 0 and r.stderr == "portkit: no tracked session\n", r.stderr
        p = subprocess.Popen(ns.cmd(BIN, "serve", "echo:7007"), stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True)
        ns.procs.append(p)
        line = p.stderr.readline()
        p.send_signal(signal.SIGTERM)
        rest = p.communicate(timeout=30)[1]
        assert line == "portkit: serving echo on [::]:7007/tcp+udp\n", line
        assert all(x.startswith("portkit: ") for x in rest.splitlines()), rest


@pytest.mark.parametrize("cmd,arg,want", [
    (["port"], "\x01" * 60, None),              # 60 control bytes: 240 bytes escaped
    (["port"], "\udcff\udcfeabc\u00e9", "'\\xff\\xfeabc\u00e9'"),   # not UTF-8, then UTF-8
    (["ls", "--state"], "x" + "\u00e9" * 100, "'x\u00e9"),   # cut between characters
])
def test_escaped_argument_stays_one_short_line(cmd, arg, want):
    import subprocess
    cp = subprocess.run([BIN, *cmd, os.fsencode(arg)], capture_output=True, timeout=30)
    assert cp.returncode == 2
    lines = cp.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(b"portkit: "), cp.stderr
    assert len(lines[0]) <= 200, len(lines[0])
    assert all(0x20 <= b < 0x7f for b in lines[0].decode().encode("ascii",
                                                                               "ignore")), lines
    text = lines[0].decode("utf-8")         # valid UTF-8: raw bytes are escaped
    assert "\x1b" not in text and "\x01" not in text
    if want:
        assert want in text, text
    else:
        assert re.search(r"'(\\x01)+\.\.\.'", text), text


@pytest.mark.parametrize("cmd", ["ls", "scan", "forward", "capture", "serve", "nat", "audit"])
@pytest.mark.parametrize("opt", ["--=", "--=x", "--==="])
def test_nameless_option_is_one_short_line(cmd, opt):
    r = run(cmd, opt)
    assert r.rc == 2, r.err
    lines = r.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("portkit: ") and len(lines[0].encode()) <= 200, \
        r.err
    assert "has no name" in lines[0], r.err


# ---- issue 26: other tools' letters mean here what they mean there ----

def test_tcpdump_snaplen_0_is_the_whole_packet():
    r = run("capture", "-r", GET, "-s", "0", "--json")
    assert r.rc == 0 and r.out == run("capture", "-r", GET, "--json").out, r.err
    bad = run("capture", "-r", GET, "-s", "10")
    assert bad.rc == 2 and "must be 0 (whole packets) or 64-262144" in bad.err, bad.err


def test_who_takes_lsof_and_netstat_spellings():
    import socket
    with socket.create_server(("127.0.0.1", 0)) as srv:
        port = srv.getsockname()[1]
        want = run("who", str(port), "--json")
        assert want.rc == 0 and [x["local_port"] for x in want.json()] == [port], want.err
        for spelling in ([f":{port}"], [f"{port}/tcp"], ["-i", f":{port}"], ["-i", f"tcp:{port}"],
                         ["-i", f"4tcp:{port}"]):
            r = run("who", *spelling, "--json")
            assert r.rc == 0 and r.out == want.out, (spelling, r.err)
        # a TCP listener is nobody's on UDP
        for spelling in ([f"{port}/udp"], ["-i", f"udp:{port}"]):
            r = run("who", *spelling)
            assert r.rc == 1, (spelling, r.rc, r.err)
    r = run("who", "-i", "@198.18.0.1:80")
    assert r.rc == 2 and "portkit ls --dst HOST" in r.err and len(r.err.splitlines()) == 1, r.err


def test_ss_netns_and_events_letters():
    import signal
    import subprocess
    import threading
    from netns import Netns
    with Netns() as ns:
        holder = ns.spawn("python3", "-c", "import socket,sys\n"
                          "s=socket.create_server(('127.0.0.1',8081));print('ok',flush=True)\n"
                          "sys.stdin.read()")
        assert holder.stdout.readline().strip() == "ok"
        want = run("ls", "--netns", ns.name, "-l", "--json")
        got = run("ls", "-N", ns.name, "-l", "--json")
        assert got.rc == 0 and got.out == want.out, got.err
        assert [x["local_port"] for x in got.json()] == [8081]
        # -E follows as --watch does: a listener opened after it started
        w = subprocess.Popen(ns.cmd(BIN, "ls", "-E", "-l"), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        ns.procs.append(w)
        guard = threading.Timer(30, w.kill)     # a bound on the reads below
        guard.start()
        try:
            assert w.stderr.readline().startswith("portkit: watching"), w
            ns.spawn("python3", "-c", "import socket,sys\n"
                     "s=socket.create_server(('127.0.0.1',8082));sys.stdin.read()")
            ev = w.stdout.readline().split()
        finally:
            guard.cancel()
        assert ev[1:4] == ["open", "tcp", "LISTEN"] and ev[4] == "127.0.0.1:8082", ev
        w.send_signal(signal.SIGTERM)
        assert w.wait(timeout=30) == 0
    assert "ss's -N" in run("ls", "--help").out


def test_common_options_before_the_command_and_V():
    assert run("--json", "port", "22").out == run("port", "22", "--json").out != ""
    r = run("--no-color", "--json", "who", "1")
    assert r.rc == 1 and r.err == "", r.err
    v = run("-V")
    assert v.rc == 0 and v.out == run("--version").out and v.out.startswith("portkit "), v.err


def test_ls_takes_either_state_spelling():
    for spelling in ("TIME_WAIT", "time-wait", "Time_Wait", "TIME-WAIT", "syn_sent", "SYN-SENT",
                     "ESTABLISHED", "close_wait", "fin_wait_1", "time-wait,syn_recv"):
        r = run("ls", "--state", spelling, "--json")
        assert r.rc == 0, (spelling, r.err)


def conntrack_table(ns):
    import shutil
    if not shutil.which("conntrack"):
        pytest.skip("conntrack-tools is not installed")
    for args in (["-p", "tcp", "--state", "ESTABLISHED", "--sport", "40000", "--dport", "80"],
                 ["-p", "tcp", "--state", "SYN_SENT", "--sport", "40001", "--dport", "22"],
                 ["-p", "tcp", "--state", "TIME_WAIT", "--sport", "40002", "--dport", "443"],
                 ["-p", "udp", "--sport", "40003", "--dport", "53"]):
        r = ns.run("conntrack", "-I", "-s", "198.18.30.1", "-d", "198.18.30.2", "-t", "600", *args)
        assert r.returncode == 0, r.stderr


def test_nat_states_spelled_as_ls_and_conntrack_letters():
    from netns import Netns
    with Netns() as ns:
        conntrack_table(ns)

        def nat(*args):
            r = ns.run(BIN, "nat", *args)
            assert r.returncode == 0, r.stderr
            if "--json" not in args:
                return r.stdout
            # the timeouts count down between two runs
            return [dict(x, timeout=None) for x in map(__import__("json").loads,
                                                       r.stdout.splitlines())]
        recs = nat("--json")
        assert sorted((x["proto"], x["orig_dst_port"], x["state"]) for x in recs) == [
            ("tcp", 22, "SYN-SENT"), ("tcp", 80, "ESTAB"), ("tcp", 443, "TIME-WAIT"),
            ("udp", 53, None)]
        for s in ("TIME-WAIT", "time_wait", "Time-Wait", "TIME_WAIT"):
            assert [x["orig_dst_port"] for x in nat("--state", s, "--json")] == [443], s
        assert nat("--state", "established", "--json") == nat("--state", "ESTAB", "--json")
        # conntrack's letters: -L lists, -p tcp is -t
        assert nat("-L", "--json") == nat("--json")
        assert nat("-p", "tcp", "--json") == nat("-t", "--json")
        assert nat("-p", "UDP", "--json") == nat("-u", "--json")
        text = nat()
        assert " ESTAB " in text and "SYN-SENT" in text and "_" not in text
        # -n: no SERVICE column (it would be all dashes), as in ls
        head = nat("-n").splitlines()[0].split()
        assert head == ["PROTO", "STATE", "ORIGINAL", "TRANSLATION", "TIMEOUT"], head
        assert "SERVICE" in text.splitlines()[0]


def test_nat_events_letter_is_watch():
    import signal
    import subprocess
    from netns import Netns
    with Netns() as ns:
        p = subprocess.Popen(ns.cmd(BIN, "nat", "-E", "--json", "--count", "1"),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        ns.procs.append(p)
        try:
            assert p.stderr.readline().startswith("portkit: following the conntrack table")
            conntrack_table(ns)
            out, err = p.communicate(timeout=30)
        finally:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                p.wait(timeout=10)
        assert p.returncode == 0, err
        ev = __import__("json").loads(out.splitlines()[0])
        assert ev["event"] == "new" and ev["state"] == "ESTAB", ev
