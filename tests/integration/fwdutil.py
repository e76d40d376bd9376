"""portkit forward as the tests run it: its log in a file, and waits on that log.

Waiting for a line the forwarder writes (" listening ", " reloaded ",
"close=...") instead of for time to pass keeps the tests fast and free of
races.
"""
import fcntl
import os
import signal
import socket
import subprocess
import tempfile
import time

from conftest import BIN


class Fwd:
    """portkit forward with its log in a file, and waits on that log."""

    def __init__(self, *args, prefix=(), ns=None, env=None):
        # O_APPEND on the open file the child shares: its writes go to the end
        # even while we seek to read ("a+" alone does not set it on the fd
        # TemporaryFile made, and a seek could make the child overwrite lines)
        self.log = tempfile.TemporaryFile("w+")
        fd = self.log.fileno()
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) | os.O_APPEND)
        cmd = [*prefix, BIN, "forward", *map(str, args)]
        if ns is not None:
            cmd = ns.cmd(*cmd)
        self.p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=self.log, text=True,
                                  env=env)

    def text(self):
        self.log.seek(0)
        return self.log.read()

    def wait_for(self, needle, count=1, timeout=15):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            t = self.text()
            if t.count(needle) >= count:
                return t
            if self.p.poll() is not None:
                raise AssertionError(f"forward exited ({self.p.returncode}):\n{t}")
            time.sleep(0.02)
        raise AssertionError(f"no {count}x '{needle}' in the log after {timeout} s:\n{self.text()}")

    def stop(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
        try:
            self.p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
        return self.text()


def free_port(kind=socket.SOCK_STREAM, family=socket.AF_INET):
    """A port nothing on loopback uses right now (of that kind and family)."""
    s = socket.socket(family, kind)
    s.bind(("::1" if family == socket.AF_INET6 else "127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p
