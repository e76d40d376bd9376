#!/usr/bin/python3
"""Random command lines against portkit, built with the sanitizers.

    tests/argv_fuzz.py [--runs N] [--seed S] [--jobs J] [BINARY]

Every command, its options (read from its --help), values good and bad
(numbers out of range, empty, 300 and 5000 bytes, control bytes, raw bytes
that are not UTF-8 passed as bytes, option-looking values, files that are
full, missing or garbage, host:port values for --ipfix, --metrics and
--log) and positional arguments, in random order; `--=`, `--opt=` with
nothing after it, the common options before the command's name, and other
tools' letters (ss, lsof, conntrack, tcpdump, nmap). Each run must end with
status 0, 1 or 2, no sanitizer report (memory error, leak, undefined
behaviour), stderr that is UTF-8 with no raw control byte, no stderr line
over 200 bytes, and status 2 must come with exactly one line, which starts
"portkit: ".

(lab is left out: it makes namespaces outside this one.)

Safety: everything runs inside a network namespace made here with only its
own loopback up, so no packet can leave it (a name that reaches the
resolver fails at once: there is no route); scan targets are loopback
addresses anyway, forward always gets --check, capture reads files only
(-i only with an interface that does not exist), serve's sockets in the
namespace, --netns only this
namespace or names that do not exist. Each run is bounded (60 s, then
killed and reported); --watch, live captures and serve get SIGTERM after 1.5 s,
which they must take as a normal end. The namespace and the temporary files are removed
whatever happens. Needs root.
"""
import argparse
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data")
COMMANDS = ["ls", "who", "scan", "capture", "audit", "port", "forward", "serve", "nat", "top"]
RUN_TIMEOUT = 60

LONG = "A" * 300
# str values go through os.fsencode; bytes are passed as they are (not UTF-8)
NASTY = ["", " ", "-", "--", LONG, "B" * 5000, "\x1b[31m", "a\nb", "\xff\xfe", "%s%n%x", "0x10",
         "1e3", "-1", "99999999999999999999", b"\xff\xfe", b"\xc3(", b"\xed\xa0\x80abc",
         b"\x80" * 100, b"\xe2\x82", "\x01" * 60, "\x1b" * 80 + "x", "\u00e9" * 150, "\x9b31m",
         "--json", "-n", "--help", "--=", "-", "--port=", "\t", "\r", "'" * 70, "a'b'c" * 30]
HOSTPORTS = ["127.0.0.1:4739", "127.0.0.1:0", "[::1]:9464", "::1:9464", "127.0.0.1:70000",
             ":9464", "127.0.0.1:", "localhost:4739", "[::1]", "127.0.0.1:-1", "1.2.3.4.5:80",
             "nosuch.invalid:80", LONG + ":80", "[" + "1" * 300 + "]:80", "127.0.0.1:9464x",
             "[::1:80", "0.0.0.0:4739", "127.0.0.1:4739:1", b"127.0.0.1:\xff", "", "\x1b:80"]
# other tools' letters, with a value where they take one: accepted with the
# same meaning, or refused naming portkit's spelling
HABITS = {
    "ls": [["-N", "pkargv-none"], ["-E"], ["-o"], ["-i"], ["-x"], ["-K"], ["-r"], ["-H"], ["-m"]],
    "who": [["-i", ":8080"], ["-i", "tcp:8080"], ["-i", "@127.0.0.1:80"], [":8080"],
            ["8080/tcp"], ["2222/udp"], ["-i", ":"], ["-i", "6udp:5353"]],
    "nat": [["-L"], ["-E"], ["-p", "tcp"], ["-p", "sctp"], ["-p", ""], ["-n"]],
    "capture": [["-s", "0"], ["-s", "63"], ["-v"], ["-tttt"], ["-X"], ["-A"], ["-nn"], ["-e"]],
    "scan": [["-T4"], ["-O"], ["-sS"], ["-sT"], ["-sU"], ["-Pn"], ["-A"], ["-sV"]],
    "port": [["-s", "ssh"], ["-P", "udp"]],
}
COMMON = ["--json", "-n", "--numeric", "--no-color", "--no-colour", "-V", "--version", "-h",
          "--help", "--bogus", "-Z"]

INTS = ["0", "1", "2", "10", "1000", "65535", "65536", "4294967296", "-5", "abc", "1.5", ""]
PORTS = ["22", "0", "80,443", "1-100", "100-1", "ssh", "rdp", "http,https", "nosuchsvc",
         "65535", "65536", "1-", "-5", "1,,2", "8080-8090", "a-b", "22/tcp", "domain"]
SCAN_PORTS = PORTS + ["-", "1-1024", "1-65535"]
ADDRS = ["127.0.0.1", "::1", "127.0.0.0/8", "::1/128", "127.0.0.1/33", "::1/129",
         "10.0.0.0/8", "1.2.3.4.5", "fe80::1", "0.0.0.0/0", "::/0", "256.1.1.1"]
TARGETS = ["127.0.0.1", "::1", "127.0.0.1-3", "127.0.0.0/30", "127.0.0.2", "::1/127",
           "127.0.0.1/33", "127.0.0.1-0", "224.0.0.1", "255.255.255.255"]
STATES = ["established", "listen", "time-wait", "syn-sent", "close-wait", "connected",
          "synchronized", "all", "bogus", "LISTEN", "estab"]


class Env:
    """The namespace, a few sockets in it, and the files the values name."""

    def __init__(self):
        self.ns = f"pkargv-{os.getpid()}"
        self.tmp = tempfile.mkdtemp(prefix="pkargv-")
        self.holder = None
        subprocess.run(["ip", "netns", "add", self.ns], check=True, timeout=10)
        try:
            subprocess.run(["ip", "-n", self.ns, "link", "set", "lo", "up"], check=True,
                           timeout=10)
            # listeners and one connection, so that ls, who, audit and scan see some
            code = ("import socket,sys,time\n"
                    "t=socket.create_server(('127.0.0.1',8080));"
                    "u=socket.create_server(('::',2222),family=socket.AF_INET6)\n"
                    "d=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);d.bind(('127.0.0.1',5353))\n"
                    "c=socket.create_connection(('127.0.0.1',8080));a,_=t.accept()\n"
                    "print('ready',flush=True);sys.stdin.read()\n")
            self.holder = subprocess.Popen(["ip", "netns", "exec", self.ns, sys.executable,
                                            "-c", code], stdin=subprocess.PIPE,
                                           stdout=subprocess.PIPE, text=True)
            if self.holder.stdout.readline().strip() != "ready":
                raise RuntimeError("the socket holder did not start")
            self._files()
        except BaseException:
            self.close()
            raise

    def _files(self):
        t = self.tmp

        def put(name, data):
            p = os.path.join(t, name)
            with open(p, "wb") as f:
                f.write(data)
            return p
        pcaps = sorted(os.path.join(DATA, "tcpdump", f) for f in os.listdir(os.path.join(DATA, "tcpdump"))
                       if f.endswith(".pcap"))
        with open(pcaps[0], "rb") as f:
            whole = f.read()
        first = 24 + 16 + int.from_bytes(whole[32:36], "little")  # its first packet whole
        self.pcaps = pcaps[:6] + [put("trunc.pcap", whole[:len(whole) // 2]),
                                  put("cut1.pcap", whole[:first + 20]),
                                  put("hdr.pcap", whole[:30]), put("junk.pcap", os.urandom(2000)),
                                  "/dev/null", "/nonexistent.pcap", "-"]
        self.out_files = [os.path.join(t, "out.file"), "/dev/full", "/nonexistent-dir/x",
                          t, os.path.join(t, LONG[:200])]
        # docs/audit.md's format: allow PROTO/PORT[-PORT] [on BIND] [by PROCESS]
        self.policies = [put("policy.ok", b"allow tcp/8080\nallow udp/5353 on loopback\n"
                                          b"allow tcp/2222 on all-interfaces by python3\n"
                                          b"severity exposed low\nfail-on high\n"),
                         put("policy.bad", b"allow tcp 99999\n\x00\x01garbage here\n"),
                         put("policy.empty", b""), "/nonexistent.policy", "/dev/null"]
        self.baselines = [put("base.bad", b"# portkit baseline\nnot a line\n\xff\n"),
                          os.path.join(t, "base.saved"), "/nonexistent.base"]
        self.configs = [put("fwd.ok", b"127.0.0.1:9000 tcp 127.0.0.1:9001\n"
                                      b"127.0.0.1:9002 udp 127.0.0.1:53 allow 127.0.0.0/8\n"),
                        put("fwd.bad", b"127.0.0.1:9000 tcp\nnonsense line\n"),
                        put("fwd.bin", os.urandom(500)), "/nonexistent.conf", "/dev/null"]

    def close(self):
        if self.holder:
            try:
                self.holder.stdin.close()
                self.holder.wait(timeout=10)
            except Exception:
                self.holder.kill()
                self.holder.wait()
        subprocess.run(["ip", "netns", "del", self.ns], capture_output=True, timeout=10)
        shutil.rmtree(self.tmp, ignore_errors=True)


def options_of(binary, cmd):
    """(name, takes_value) for each option of cmd, from its --help."""
    text = subprocess.run([binary, cmd, "--help"], capture_output=True, text=True,
                          timeout=30).stdout
    opts = []
    # "  -p, --ports PORTS   help": one blank before a value ("udp|tcp" too),
    # two or more before the help
    for m in re.finditer(r"^\s+(?:-(\w), )?--([\w-]+)(?: (\S+))?", text, re.M):
        short, long, val = m.groups()
        opts.append((short, long, val))
    return opts


def value_for(env, cmd, long, meta, rnd):
    if rnd.random() < 0.1:
        return rnd.choice(NASTY)
    if long in ("ipfix", "metrics") or (long == "log" and rnd.random() < 0.3):
        return rnd.choice(HOSTPORTS + ["none"])
    if long == "ipfix-transport":
        return rnd.choice(["udp", "tcp", "sctp", ""])
    if long in ("ports", "port", "sport", "dport"):
        return rnd.choice(SCAN_PORTS if cmd == "scan" else PORTS)
    if long in ("allow", "deny") and rnd.random() < 0.3:
        return rnd.choice(["0.0.0.0/0", "::/0", "0.0.0.0/0,::/0", "fe80::1%lo"])
    if long in ("src", "dst", "exclude", "allow", "deny"):
        return rnd.choice(ADDRS)
    if long == "state":
        return rnd.choice(STATES)
    if long in ("netns",):
        return rnd.choice([env.ns, "nosuch-ns", "0", "999999999", "abc"])
    if long == "bind":
        return rnd.choice(["127.0.0.1", "::1", "0.0.0.0", "198.18.0.1", "localhost", ""])
    if long == "dns":
        return rnd.choice(["a=127.0.0.1", "b.lab=::1", "=1.2.3.4", "x=", "noequals", LONG + "=1.1.1.1"])
    if long == "hostname":
        return rnd.choice(["server1", "", "two words", LONG])
    if long in ("user",):
        return rnd.choice(["root", "nobody", "no-such-user", "0", "4294967295"])
    if long == "method":
        return rnd.choice(["connect", "syn", "udp", "bogus", "SYN"])
    if long == "shard":
        return rnd.choice(["1/2", "0/2", "3/2", "a/b", "1/0", "2/2"])
    if long == "fail-on":
        return rnd.choice(["high", "medium", "low", "info", "bogus"])
    if long == "proto":
        return rnd.choice(["tcp", "udp", "sctp", "dccp", "tcp,udp", "icmp"])
    if long == "interface":
        return "nosuch0"
    if long == "read":
        return rnd.choice(env.pcaps)
    if long in ("write", "xml", "grepable", "log", "save-baseline"):
        return rnd.choice(env.out_files)
    if long == "policy":
        return rnd.choice(env.policies)
    if long == "baseline":
        return rnd.choice(env.baselines)
    if long == "config":
        return rnd.choice(env.configs)
    if long == "by":
        return rnd.choice(["remote", "local", "bogus"])
    if long == "process":
        return rnd.choice(["python3", "nosuch", ""])
    if long == "rate":
        return rnd.choice(["2000", "100000", "0", "-1", "abc", "1e9"])
    if long == "timeout":
        return rnd.choice(["1", "100", "0", "-1", "abc", "5000"])
    if long == "watch":
        return rnd.choice(["1", "0.5", "0.01", "abc"])
    if long == "delay":
        return rnd.choice(["0.2", "1", "0.01", "0", "-1", "abc", "3601", "1e3"])
    if long == "group":
        return rnd.choice(["proc", "port", "remote", "session", "bogus", ""])
    if long == "sort":
        return rnd.choice(["rate", "tx", "rx", "total", "name", "bogus"])
    if long == "udp-source":
        return rnd.choice(["auto", "bpf", "pcap", "none", "x"])
    if long == "workers":
        return rnd.choice(["1", "2", "0", "1000", "abc"])
    return rnd.choice(INTS)


def positional(env, cmd, rnd):
    if cmd == "scan":
        return rnd.choice(TARGETS)
    if cmd == "who":
        return rnd.choice(PORTS + ["8080", "2222", "5353"])
    if cmd == "port":
        return rnd.choice(PORTS + ["remote desktop", "samba", "email", "web server", "x" * 70,
                                   "3389", "0-65535"])
    if cmd == "ls":
        return rnd.choice(ADDRS + STATES)
    if cmd == "forward":
        return rnd.choice(["8080", "127.0.0.1:9000", "[::1]:9000", "127.0.0.1:0", "127.0.0.1:9001",
                           "127.0.0.1:70000", ":80", "[::1]", "udp:127.0.0.1:9000"])
    if cmd == "capture":
        return rnd.choice(["port 53", "tcp", "host 127.0.0.1", "port", "((", "not port 80 and udp"])
    if cmd == "nat":
        return rnd.choice(NASTY)
    if cmd == "serve":
        return rnd.choice(["http", "http:8080", "ftp", "dns", "dns/udp", "echo:7007", "3389", "5",
                           "ssh/udp", "gopher", "http:0", "smb:445", "redis:70000", ":80"])
    return rnd.choice(NASTY)


def command_line(env, opts, rnd):
    cmd = rnd.choice(COMMANDS)
    args = []
    for _ in range(rnd.randint(0, 5)):
        r = rnd.random()
        if r < 0.08 and cmd in HABITS:
            args += rnd.choice(HABITS[cmd])
        elif r < 0.12:                  # --=, --opt= with nothing, --opt=VALUE glued
            short, long, meta = rnd.choice(opts[cmd])
            v = rnd.choice(NASTY)
            args.append(rnd.choice(["--=", "--=x", f"--{long}=",
                                    f"--{long}=".encode() + (v if isinstance(v, bytes)
                                                             else os.fsencode(v))]))
        elif r < 0.6:
            short, long, meta = rnd.choice(opts[cmd])
            if long == "help" and rnd.random() < 0.8:
                continue
            name = f"-{short}" if short and rnd.random() < 0.4 else f"--{long}"
            if rnd.random() < 0.05:		# abbreviated, or with a value glued on
                name = name[:max(3, len(name) - rnd.randint(1, 4))] if name.startswith("--") \
                    else name + "x"
            args.append(name)
            if meta and (not meta.startswith("[") or rnd.random() < 0.5) and rnd.random() < 0.95:
                args.append(value_for(env, cmd, long, meta, rnd))
        elif r < 0.85:
            args.append(positional(env, cmd, rnd))
        else:
            args.append(rnd.choice(["--json", "-n", "--no-color", "--bogus", "-Z", "--json=1",
                                    "-h", "--help=x"]))
    if cmd == "scan" and rnd.random() < 0.8:
        args.append(rnd.choice(TARGETS[:6]))
        if not any(a in ("-p", "--ports", "--top") for a in args):
            args += ["-p", rnd.choice(["1-100", "22,80,443,8080,2222", "5353"])]
    if cmd == "forward":
        args.append("--check")
    if "--" in args and cmd == "scan":
        i = args.index("--")
        args = args[:i + 1] + [a for a in args[i + 1:] if a in TARGETS]
    # the common options before the command's name: portkit --json ls ...
    pre = [rnd.choice(COMMON) for _ in range(rnd.randint(1, 3))] if rnd.random() < 0.1 else []
    return pre, cmd, args


def arg_text(a):
    return a if isinstance(a, str) else a.decode("utf-8", "surrogateescape")


def one(binary, env, pre, cmd, args):
    # what runs until stopped: ls --watch (or ss's -E), a live capture, serve
    # (getopt takes unique abbreviations: --wat is --watch, --r is --read)
    targs = [arg_text(a) for a in args]
    watch = (cmd in ("ls", "nat") and any(a.startswith("--w") or a == "-E" for a in targs)) or \
        (cmd == "capture" and not any(a == "-r" or (a.startswith("--r") and len(a) > 3)
                                      or a.startswith("-r") for a in targs)) or \
        cmd in ("serve", "top")
    envv = dict(os.environ, ASAN_OPTIONS="detect_leaks=1:exitcode=99:abort_on_error=0",
                LSAN_OPTIONS="exitcode=98", UBSAN_OPTIONS="print_stacktrace=1:exitcode=97",
                NO_COLOR="1")
    p = subprocess.Popen(["ip", "netns", "exec", env.ns, binary, *pre, cmd, *args],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, env=envv, start_new_session=True,
                         cwd=env.tmp)   # relative paths among the values land there
    timer = threading.Timer(1.5, lambda: p.poll() is None and p.send_signal(signal.SIGTERM)) \
        if watch else None
    if timer:
        timer.start()
    try:
        _, raw = p.communicate(timeout=RUN_TIMEOUT)
        hung = False
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        _, raw = p.communicate()
        hung = True
    finally:
        if timer:
            timer.cancel()
    err = raw.decode("utf-8", "replace")
    problems = []
    sanitizer = "Sanitizer" in err or "runtime error:" in err
    if hung:
        problems.append(f"no end after {RUN_TIMEOUT} s")
    elif p.returncode not in (0, 1, 2):
        problems.append(f"exit status {p.returncode}")
    if sanitizer:
        problems.append("sanitizer report")
    lines = raw.splitlines()
    long_lines = [l for l in lines if len(l) > 200]
    if long_lines and not sanitizer:
        problems.append(f"stderr line of {len(long_lines[0])} bytes")
    if not sanitizer:
        try:
            raw.decode("utf-8")
            if re.search(r"[\x00-\x09\x0b-\x1f\x7f]", err):
                problems.append("a raw control byte on stderr")
        except UnicodeDecodeError:
            problems.append("stderr is not UTF-8 (raw bytes passed through)")
    if p.returncode == 2 and not hung:
        if not lines or not lines[-1].startswith(b"portkit: "):
            problems.append("status 2 without a 'portkit: ' line")
        elif len(lines) != 1:
            problems.append(f"status 2 with {len(lines)} stderr lines")
    return problems, err


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("binary", nargs="?", default=os.path.join(HERE, "..", "build-asan", "portkit"))
    ap.add_argument("--runs", type=int, default=6500)
    ap.add_argument("--seed", type=int, default=int(time.time()))
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--show", type=int, default=20, help="failing runs to print")
    a = ap.parse_args()
    if os.geteuid() != 0:
        print("argv_fuzz: needs root (it runs everything in a network namespace of its own)")
        return 0
    binary = os.path.abspath(a.binary)
    rnd = random.Random(a.seed)
    env = Env()
    failures = []
    lock = threading.Lock()
    t0 = time.monotonic()
    try:
        opts = {c: options_of(binary, c) for c in COMMANDS}
        lines = [command_line(env, opts, rnd) for _ in range(a.runs)]

        def job(item):
            pre, cmd, args = item
            problems, err = one(binary, env, pre, cmd, args)
            with lock:
                if problems:
                    failures.append((pre, cmd, args, problems, err))
        with ThreadPoolExecutor(a.jobs) as ex:
            for i, _ in enumerate(ex.map(job, lines)):
                if (i + 1) % 500 == 0:
                    print(f"  {i + 1} runs, {len(failures)} failing, {time.monotonic() - t0:.0f} s",
                          flush=True)
    finally:
        env.close()
    print(f"argv_fuzz: {a.runs} runs (seed {a.seed}) in {time.monotonic() - t0:.0f} s: "
          f"{len(failures)} failing")
    kinds = {}
    for *_, problems, _ in failures:
        for pr in problems:
            k = re.sub(r"\d+", "N", pr)
            kinds[k] = kinds.get(k, 0) + 1
    for k, n in sorted(kinds.items(), key=lambda x: -x[1]):
        print(f"  {n} x {k}")
    for pre, cmd, args, problems, err in failures[:a.show]:
        print(f"- portkit {' '.join(map(repr, pre))} {cmd} {' '.join(map(repr, args))}: "
              f"{'; '.join(problems)}")
        for line in err.splitlines()[:12]:
            print(f"    {line[:300]}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
