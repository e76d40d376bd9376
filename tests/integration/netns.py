"""Network namespaces that a test creates and always removes.

Only root can create them; tests that need one are skipped otherwise.
Addresses used inside are loopback and 198.18.0.0/15 (the benchmarking
range), on devices that exist only inside the namespace.
"""
import contextlib
import itertools
import os
import subprocess

import pytest

_counter = itertools.count()


def need_root():
    if os.geteuid() != 0:
        pytest.skip("needs root to create network namespaces")


class Netns:
    def __init__(self):
        need_root()
        self.name = f"pktest-{os.getpid()}-{next(_counter)}"
        self.procs = []
        subprocess.run(["ip", "netns", "add", self.name], check=True, timeout=10)
        try:
            self.ip("link", "set", "lo", "up")
        except BaseException:
            self.close()        # a half-made namespace is removed too
            raise

    def ip(self, *args):
        subprocess.run(["ip", "-n", self.name, *args], check=True, timeout=10)

    def link(self, peer, net, dev):
        """A veth from this namespace (<net>.1/24 on pks<dev>) to peer's (<net>.2 on pkt<dev>)."""
        mine, theirs = f"pks{dev}", f"pkt{dev}"
        subprocess.run(["ip", "link", "add", mine, "netns", self.name, "type", "veth",
                        "peer", "name", theirs, "netns", peer.name], check=True, timeout=10)
        for ns, d, host in ((self, mine, 1), (peer, theirs, 2)):
            ns.ip("addr", "add", f"{net}.{host}/24", "dev", d)
            ns.ip("link", "set", d, "up")

    def bridge(self, net, dev, members):
        """A bridge pkbr<dev> here (<net>.1/24), a switch with a port for each (ns, host) of
        members: that namespace gets <net>.<host>/24 on pkp<dev>."""
        br = f"pkbr{dev}"
        self.ip("link", "add", br, "type", "bridge")
        self.ip("addr", "add", f"{net}.1/24", "dev", br)
        self.ip("link", "set", br, "up")
        for i, (ns, host) in enumerate(members):
            port = f"pkb{dev}x{i}"
            subprocess.run(["ip", "link", "add", port, "netns", self.name, "type", "veth",
                            "peer", "name", f"pkp{dev}", "netns", ns.name], check=True, timeout=10)
            self.ip("link", "set", port, "master", br)
            self.ip("link", "set", port, "up")
            ns.ip("addr", "add", f"{net}.{host}/24", "dev", f"pkp{dev}")
            ns.ip("link", "set", f"pkp{dev}", "up")

    def cmd(self, *args):
        return ["ip", "netns", "exec", self.name, *map(str, args)]

    def run(self, *args, timeout=30, env=None):
        e = dict(os.environ)
        e.pop("NO_COLOR", None)
        if env:
            e.update(env)
        return subprocess.run(self.cmd(*args), capture_output=True, text=True,
                              timeout=timeout, env=e)

    def spawn(self, *args):
        p = subprocess.Popen(self.cmd(*args), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             text=True)
        self.procs.append(p)
        return p

    def close(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()      # only processes this test started, by their handle
            p.wait(timeout=10)
        subprocess.run(["ip", "netns", "del", self.name], timeout=10)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


@contextlib.contextmanager
def routed():
    """client 198.18.8.1 - router 198.18.8.2 / 198.18.9.1 - server 198.18.9.2 (its
    default route through the router): the three namespaces, removed whatever happens."""
    client, router, server = Netns(), Netns(), Netns()
    try:
        client.link(router, "198.18.8", 8)
        router.link(server, "198.18.9", 9)
        server.ip("route", "add", "default", "via", "198.18.9.1")
        yield client, router, server
    finally:
        for ns in (client, router, server):
            ns.close()
