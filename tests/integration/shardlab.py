"""Machines in namespaces for scan shards: GNU parallel runs `portkit scan
--shard {}/N` over ssh on them, as on real machines.

  ctl       the machine parallel runs on: 198.18.40.1 on a bridge 'lan'
  m1..mN    'machines': sshd on 198.18.40.1<i> (a key made for this run),
            and 198.18.43.1<i>/23 on the target bridge
  target    holds the scanned addresses (198.18.42.x/23, on its bridge, so
            discovery is ARP) and listeners; tcpdump there counts probes

Used by tests/integration/test_scan_shard.py (a /28 x 200 ports) and
bench/scan/shard (a /24 x 1,000 ports). Everything is removed at the end.
"""
import contextlib
import os
import shutil
import subprocess

from netns import Netns

HERE = os.path.dirname(__file__)
PY = "/usr/bin/python3"

# Listeners that accept and close; they end with stdin, or after an hour
ACCEPTOR = os.path.join(HERE, "helpers/acceptor.py")


def sshd_config(d, addr, key, pub):
    path = os.path.join(d, f"sshd-{addr}.conf")
    with open(path, "w") as f:
        f.write(f"ListenAddress {addr}\nHostKey {key}\nAuthorizedKeysFile {pub}\n"
                "PermitRootLogin prohibit-password\nPasswordAuthentication no\n"
                "KbdInteractiveAuthentication no\nStrictModes no\nUsePAM no\n"
                f"PidFile none\nPrintMotd no\nSetEnv PATH={os.environ.get('PATH', '')}\n")
    return path


@contextlib.contextmanager
def shard_lab(tmp, machines, hosts, open_ports):
    """hosts: the last octets of 198.18.42.x that are up in the target."""
    ctl, target = Netns(), Netns()
    ms = []
    try:
        ms = [Netns() for _ in range(machines)]
        ctl.bridge("198.18.40", 40, [(m, 11 + i) for i, m in enumerate(ms)])
        target.ip("link", "add", "pkbr41", "type", "bridge")
        target.ip("link", "set", "pkbr41", "up")
        for i, m in enumerate(ms):
            port = f"pkb41x{i}"
            subprocess.run(["ip", "link", "add", port, "netns", target.name, "type", "veth",
                            "peer", "name", "pkq41", "netns", m.name], check=True, timeout=10)
            target.ip("link", "set", port, "master", "pkbr41")
            target.ip("link", "set", port, "up")
            m.ip("addr", "add", f"198.18.43.{11 + i}/23", "dev", "pkq41")
            m.ip("link", "set", "pkq41", "up")
        batch = os.path.join(tmp, "addrs.batch")
        with open(batch, "w") as f:
            for h in hosts:
                f.write(f"addr add 198.18.42.{h}/23 dev pkbr41\n")
        subprocess.run(["ip", "-n", target.name, "-batch", batch], check=True, timeout=30)
        target.run("sysctl", "-qw", "net.ipv4.icmp_ratelimit=0")
        p = target.spawn(PY, ACCEPTOR, 3600, *map(str, open_ports))
        p.stdout.readline()
        key = os.path.join(tmp, "id_ed25519")
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key], check=True,
                       timeout=30)
        logins = []
        for i, m in enumerate(ms):
            addr = f"198.18.40.{11 + i}"
            conf = sshd_config(tmp, addr, key, key + ".pub")
            m.spawn("/usr/sbin/sshd", "-D", "-e", "-f", conf)
            logins.append(f"root@{addr}")
        ssh = (f"ssh -i {key} -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null "
               "-o LogLevel=ERROR -o BatchMode=yes -o ConnectTimeout=5")
        for login in logins:    # each sshd is up: ready, not slept on
            for _ in range(50):
                r = ctl.run(*ssh.split(), login, "true", timeout=30)
                if r.returncode == 0:
                    break
                subprocess.run(["sleep", "0.1"])
            assert r.returncode == 0, r.stderr
        yield ctl, target, ms, ssh, logins
    finally:
        for ns in [target, ctl, *ms]:
            ns.close()


def parallel_shards(ctl, ssh, logins, scan_args, n, outdir):
    """GNU parallel on ctl: shard i of n on the machines, one job each at a
    time; each shard's --json comes back in outdir/1/<i>/stdout."""
    if not shutil.which("parallel"):
        return None
    cmd = ["parallel", "--ssh", ssh, "--sshlogin", ",".join(f"1/{l}" for l in logins),
           "--results", outdir, "--halt", "now,fail=1",
           " ".join(scan_args) + " --json --shard {}/" + str(n), ":::",
           *[str(i) for i in range(1, n + 1)]]
    r = ctl.run(*cmd, timeout=600)
    assert r.returncode == 0, r.stderr
    return [open(os.path.join(outdir, "1", str(i), "stdout")).read() for i in range(1, n + 1)]
