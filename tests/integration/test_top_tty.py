"""portkit top's full-screen view, driven through a pseudo-terminal.

What the program draws goes into pyte (a VT100 emulator, Debian's
python3-pyte), so the checks read the screen a user would see, not the
escape sequences. Every wait is bounded and waits for the screen (or the
exit) to show something; nothing sleeps to guess readiness. The program
is stopped by PID in every case, and the terminal's modes are compared
with those it had before.
"""
import fcntl
import os
import pty
import select
import signal
import socket
import struct
import termios
import threading
import time

import pytest

from conftest import BIN

pyte = pytest.importorskip("pyte")


class Tty:
    def __init__(self, *args, rows=30, cols=100, env=None):
        self.rows, self.cols = rows, cols
        self.screen = pyte.Screen(cols, rows)
        self.stream = pyte.ByteStream(self.screen)
        self.raw = b""
        e = dict(os.environ)
        e.update({"TERM": "xterm", "LC_ALL": "C.UTF-8"})
        e.pop("NO_COLOR", None)
        e.update(env or {})
        self.pid, self.fd = pty.fork()
        if self.pid == 0:       # the child: the program on the terminal
            try:
                os.execve(BIN, [BIN, "top", *map(str, args)], e)
            finally:
                os._exit(127)
        self.resize(rows, cols, signal_it=False)
        self.before = termios.tcgetattr(self.fd)
        self.status = None

    def resize(self, rows, cols, signal_it=True):
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        self.screen.resize(rows, cols)
        self.rows, self.cols = rows, cols
        if signal_it:
            os.kill(self.pid, signal.SIGWINCH)

    def pump(self, timeout):
        r, _, _ = select.select([self.fd], [], [], timeout)
        if not r:
            return False
        try:
            data = os.read(self.fd, 65536)
        except OSError:         # the program closed the terminal
            return False
        self.raw += data
        self.stream.feed(data)
        return bool(data)

    def text(self):
        return "\n".join(self.screen.display)

    def wait(self, pred, timeout=10):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if pred(self):
                return True
            self.pump(min(0.2, max(0.01, end - time.monotonic())))
        return pred(self)

    def wait_text(self, s, timeout=10):
        assert self.wait(lambda t: s in t.text(), timeout), \
            f"{s!r} not on the screen:\n{self.text()}"

    def send(self, b):
        os.write(self.fd, b)

    def wait_exit(self, timeout=10):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            pid, st = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.status = st
                while self.pump(0.05):  # what it wrote last (endwin)
                    pass
                return os.waitstatus_to_exitcode(st)
            self.pump(0.05)
        raise AssertionError("portkit top did not end")

    def modes_restored(self):
        now = termios.tcgetattr(self.fd)
        return now[3] == self.before[3] and now[0] == self.before[0] and now[1] == self.before[1]

    def close(self):
        if self.status is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
            except ChildProcessError:
                pass
        os.close(self.fd)


@pytest.fixture
def tty():
    made = []

    def start(*args, **kw):
        t = Tty(*args, **kw)
        made.append(t)
        return t
    yield start
    for t in made:
        t.close()


class Traffic:
    """A loopback TCP pair moving bytes both ways until stopped (bounded),
    in a thread named so that top shows it as its command."""

    def __init__(self, name=b"pktopload"):
        self.srv = socket.socket()
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen()
        self.port = self.srv.getsockname()[1]
        self.stop = threading.Event()
        self.cli = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        self.conn, _ = self.srv.accept()
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self):
        end = time.monotonic() + 60
        while not self.stop.is_set() and time.monotonic() < end:
            self.cli.sendall(b"x" * 20000)
            self.conn.recv(65536)
            self.stop.wait(0.01)

    def close(self):
        self.stop.set()
        self.t.join(5)
        for s in (self.cli, self.conn, self.srv):
            s.close()


def test_draws_switches_groups_and_quits_restoring_the_terminal(tty):
    load = Traffic()
    try:
        t = tty("-d", "0.2", "--port", str(load.port))
        t.wait_text("by proc")
        t.wait_text("PROGRAM")
        t.wait_text("q quit")
        during = termios.tcgetattr(t.fd)
        assert not during[3] & termios.ICANON and not during[3] & termios.ECHO
        # our own process moves bytes: its row shows up with a rate
        t.wait(lambda t: any("python" in line and "b/s" in line for line in t.screen.display))
        t.send(b"g")
        t.wait_text("by port")
        t.wait_text(f"{load.port}/tcp")
        t.send(b"g")
        t.wait_text("by remote")
        t.send(b"g")
        t.wait_text("by session")
        t.wait_text("ESTAB")
        t.send(b"t")
        t.wait_text("sort (total")
        t.send(b"I")
        t.wait_text("inverted")
        t.send(b" ")
        t.wait_text("[frozen]")
        t.send(b"q")
        assert t.wait_exit() == 0
        assert t.modes_restored()
        assert b"\x1b[?1049l" in t.raw      # the alternate screen was left
    finally:
        load.close()


def test_filter_key_narrows_rows(tty):
    load = Traffic()
    try:
        t = tty("-d", "0.2", "-g", "port", "--port", str(load.port))
        t.wait_text(f"{load.port}/tcp")
        t.send(b"/nosuchthing\r")
        t.wait_text("(no row matches the filter)")
        t.send(b"/\x1b")        # Esc clears it
        t.wait_text(f"{load.port}/tcp")
        t.send(b"q")
        assert t.wait_exit() == 0
    finally:
        load.close()


@pytest.mark.parametrize("how", ["ctrl-c", "sigterm", "sigint"])
def test_stopping_restores_the_terminal(tty, how):
    t = tty("-d", "0.2")
    t.wait_text("q quit")
    if how == "ctrl-c":
        t.send(b"\x03")         # the line discipline makes it SIGINT
    else:
        os.kill(t.pid, signal.SIGTERM if how == "sigterm" else signal.SIGINT)
    assert t.wait_exit() == 0
    assert t.modes_restored()


def test_resize_and_tiny_terminal(tty):
    t = tty("-d", "0.2", rows=30, cols=100)
    t.wait_text("q quit")
    t.resize(12, 50)
    # the key line moves to the new last line; nothing is drawn past column 50
    t.wait(lambda t: "q quit" in t.screen.display[11])
    assert "q quit" in t.screen.display[11]
    t.resize(4, 20)
    t.wait_text("too small")
    t.resize(40, 120)
    t.wait(lambda t: "q quit" in t.screen.display[39])
    assert "q quit" in t.screen.display[39]
    t.send(b"q")
    assert t.wait_exit() == 0
    assert t.modes_restored()


def test_dumb_and_unknown_terminals_fall_back_to_batch(tty):
    t = tty("-d", "0.2", "-n", "2", env={"TERM": "dumb"})
    assert t.wait_exit() == 0
    out = t.raw.decode()
    assert "TERM is dumb" in out and "PROGRAM" in out
    assert "\x1b[" not in out            # no escape sequence at all
    assert out.count("portkit top ") == 2
    t = tty("-d", "0.2", "-n", "1", env={"TERM": "no-such-terminal-pk"})
    assert t.wait_exit() == 0
    assert "cannot show the full-screen view" in t.raw.decode()


def test_non_utf8_locale_and_unprintable_command_names(tty):
    """A process whose name has bytes that are not ASCII (or escape
    sequences) is drawn with '?' for them, under a non-UTF-8 locale."""
    load = Traffic()
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:        # a child that renames itself and moves bytes
        try:
            os.close(r)
            with open("/proc/self/comm", "wb") as f:
                f.write(b"ev\xe9l\x1b[2Jx")
            c = socket.create_connection(("127.0.0.1", load.port), timeout=5)
            os.write(w, b"1")
            end = time.monotonic() + 30
            while time.monotonic() < end:
                c.sendall(b"y" * 10000)
                time.sleep(0.01)
        finally:
            os._exit(0)
    os.close(w)
    try:
        assert os.read(r, 1) == b"1"
        t = tty("-d", "0.2", "--port", str(load.port), env={"LC_ALL": "C", "LANG": "C"})
        t.wait_text("ev?l?[2Jx")
        assert b"\xe9" not in t.raw
        t.send(b"q")
        assert t.wait_exit() == 0
        assert t.modes_restored()
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(r)
        load.close()


def test_terminal_hangup_ends_it(tty):
    t = tty("-d", "0.2")
    t.wait_text("q quit")
    os.kill(t.pid, signal.SIGHUP)
    t.wait_exit()   # SIGHUP's default action: it ends, whatever the status
