"""Real Debian daemons, started by hand in a test namespace, for --sv.

Lab(ns).start() starts every daemon whose package is installed (the others
are left out and listed in .missing), each bound in the namespace only,
with its own configuration and state under a private folder, and waits
until every port listens. .expect lists (port, service, product, version):
the version is the upstream part of the installed Debian package's version
(dpkg), so the check is against what Debian shipped, not against portkit.
.stop() ends every process it started, by its handle.
"""
import os
import re
import shutil
import subprocess
import tempfile
import time

TLS_CN = "daemons.portkit.test"


def pkg_version(pkg):
    r = subprocess.run(["dpkg-query", "-W", "-f=${Version}", pkg], capture_output=True,
                       text=True)
    if r.returncode:
        return None
    v = r.stdout.split(":", 1)[-1]           # epoch
    return re.sub(r"[-+~].*$", "", v)        # Debian revision


def have(*paths):
    return all(os.path.exists(p) for p in paths)


class Lab:
    def __init__(self, ns):
        self.ns = ns
        self.dir = tempfile.mkdtemp(prefix="pkdaemons-")
        os.chmod(self.dir, 0o755)            # daemons that drop root must reach it
        self.procs, self.expect, self.missing = [], [], []
        self.expect_udp = []                 # (port, service, product, version)
        self.cert = os.path.join(self.dir, "cert.pem")
        self.key = os.path.join(self.dir, "key.pem")

    def path(self, name):
        return os.path.join(self.dir, name)

    def write(self, name, text):
        with open(self.path(name), "w") as f:
            f.write(text)
        return self.path(name)

    def spawn(self, *args, user=None):
        cmd = self.ns.cmd(*(["runuser", "-u", user, "--"] if user else []), *args)
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=open(self.path("log"), "a"), start_new_session=True)
        self.procs.append(p)

    def run(self, *args, user=None):
        cmd = (["runuser", "-u", user, "--"] if user else []) + list(args)
        subprocess.run(cmd, check=True, capture_output=True, timeout=120)

    def add(self, port, service, product, version):
        self.expect.append((port, service, product, version))

    # ---- the daemons ----
    def ssh(self):
        if not have("/usr/sbin/sshd"):
            return self.missing.append("openssh-server")
        os.makedirs("/run/sshd", exist_ok=True)
        self.run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", self.path("ssh_key"))
        self.spawn("/usr/sbin/sshd", "-D", "-e", "-f", "/dev/null", "-h", self.path("ssh_key"),
                   "-p", "22", "-o", "PidFile=none")
        self.add(22, "ssh", "OpenSSH", pkg_version("openssh-server"))

    def dropbear(self):
        if not have("/usr/sbin/dropbear"):
            return self.missing.append("dropbear-bin")
        self.run("dropbearkey", "-t", "ed25519", "-f", self.path("db_key"))
        self.spawn("/usr/sbin/dropbear", "-F", "-E", "-s", "-p", "2222", "-r", self.path("db_key"),
                   "-P", self.path("db.pid"))
        self.add(2222, "ssh", "Dropbear", pkg_version("dropbear-bin"))

    def nginx(self):
        if not have("/usr/sbin/nginx"):
            return self.missing.append("nginx")
        conf = self.write("nginx.conf", f"""daemon off; pid {self.path('nginx.pid')};
error_log stderr; events {{}}
http {{ access_log off; server {{ listen 80; listen 443 ssl;
  ssl_certificate {self.cert}; ssl_certificate_key {self.key}; root {self.dir}; }} }}
""")
        self.spawn("/usr/sbin/nginx", "-c", conf)
        self.add(80, "http", "nginx", pkg_version("nginx"))
        self.add(443, "https", "nginx", pkg_version("nginx"))

    def lighttpd(self):
        if not have("/usr/sbin/lighttpd"):
            return self.missing.append("lighttpd")
        conf = self.write("lighttpd.conf", f'server.port = 8080\nserver.document-root = '
                          f'"{self.dir}"\nserver.pid-file = "{self.path("l.pid")}"\n')
        self.spawn("/usr/sbin/lighttpd", "-D", "-f", conf)
        self.add(8080, "http", "lighttpd", pkg_version("lighttpd"))

    def apache(self):
        mods = "/usr/lib/apache2/modules"
        if not have("/usr/sbin/apache2", f"{mods}/mod_mpm_prefork.so"):
            return self.missing.append("apache2")
        conf = self.write("apache2.conf", f"""LoadModule mpm_prefork_module {mods}/mod_mpm_prefork.so
LoadModule authz_core_module {mods}/mod_authz_core.so
Listen 8081
ServerName daemons.portkit.test
PidFile {self.path('apache2.pid')}
ErrorLog /dev/stderr
DocumentRoot {self.dir}
User www-data
Group www-data
""")
        self.spawn("/usr/sbin/apache2", "-X", "-f", conf, "-d", self.dir)
        self.add(8081, "http", "Apache httpd", pkg_version("apache2"))

    def samba(self):
        if not have("/usr/sbin/smbd"):
            return self.missing.append("samba")
        for d in ("lock", "state", "cache", "private", "pid", "ncalrpc"):
            os.makedirs(self.path(f"smb-{d}"), exist_ok=True)
        conf = self.write("smb.conf", "[global]\nserver role = standalone server\n"
                          "smb ports = 445\ndisable netbios = yes\n" + "".join(
                              f"{k} = {self.path('smb-' + d)}\n" for k, d in (
                                  ("lock directory", "lock"), ("state directory", "state"),
                                  ("cache directory", "cache"), ("private dir", "private"),
                                  ("pid directory", "pid"), ("ncalrpc dir", "ncalrpc"))))
        self.spawn("/usr/sbin/smbd", "-F", "--no-process-group", "-s", conf, "--debug-stdout")
        # what a negotiate names is the protocol dialect (ours offers up to 3.0.2)
        self.add(445, "smb", None, "SMB 3.0.2")

    def xrdp(self):
        if not have("/usr/sbin/xrdp", "/etc/xrdp/xrdp.ini"):
            return self.missing.append("xrdp")
        self.spawn("/usr/sbin/xrdp", "--nodaemon", "--port", "3389")
        self.add(3389, "rdp", "xrdp", None)

    def vsftpd(self):
        if not have("/usr/sbin/vsftpd"):
            return self.missing.append("vsftpd")
        os.makedirs("/var/run/vsftpd/empty", exist_ok=True)
        conf = self.write("vsftpd.conf", "listen=YES\nbackground=NO\nlisten_port=21\n"
                          "anonymous_enable=YES\nanon_root=/var/run/vsftpd/empty\n"
                          "local_enable=NO\nseccomp_sandbox=NO\n"
                          "secure_chroot_dir=/var/run/vsftpd/empty\n")
        self.spawn("/usr/sbin/vsftpd", conf)
        self.add(21, "ftp", "vsftpd", pkg_version("vsftpd"))

    def dovecot(self):
        if not have("/usr/sbin/dovecot"):
            return self.missing.append("dovecot-imapd")
        conf = self.write("dovecot.conf", f"""base_dir = {self.path('dovecot')}/
protocols = imap pop3
listen = *
ssl = no
log_path = /dev/stderr
passdb {{
  driver = static
  args = password=lab
}}
userdb {{
  driver = static
  args = uid=nobody gid=nogroup home=/tmp
}}
""")
        self.spawn("/usr/sbin/dovecot", "-F", "-c", conf)
        self.add(143, "imap", "Dovecot", None)
        self.add(110, "pop3", "Dovecot", None)

    def redis(self):
        if not have("/usr/bin/redis-server"):
            return self.missing.append("redis-server")
        self.spawn("/usr/bin/redis-server", "--port", "6379", "--bind", "0.0.0.0",
                   "--protected-mode", "no", "--save", "", "--appendonly", "no",
                   "--dir", self.dir, "--daemonize", "no")
        self.add(6379, "redis", "Redis", pkg_version("redis-server"))

    def memcached(self):
        if not have("/usr/bin/memcached"):
            return self.missing.append("memcached")
        self.spawn("/usr/bin/memcached", "-u", "nobody", "-l", "0.0.0.0", "-p", "11211",
                   "-U", "0")
        self.add(11211, "memcached", "memcached", pkg_version("memcached"))

    def mariadb(self):
        if not have("/usr/sbin/mariadbd", "/usr/bin/mariadb-install-db"):
            return self.missing.append("mariadb-server")
        data = self.path("mariadb")
        os.makedirs(data)
        shutil.chown(data, "mysql", "mysql")
        self.run("mariadb-install-db", "--no-defaults", f"--datadir={data}", "--user=mysql",
                 "--auth-root-authentication-method=normal", "--skip-test-db")
        # without grant tables it greets everyone with its handshake (the
        # default refuses unknown hosts before it, and shows no version)
        self.spawn("/usr/sbin/mariadbd", "--no-defaults", f"--datadir={data}", "--user=mysql",
                   "--skip-grant-tables",
                   "--port=3306", "--bind-address=0.0.0.0", f"--socket={data}/my.sock",
                   f"--pid-file={data}/my.pid")
        self.add(3306, "mysql", "MariaDB", pkg_version("mariadb-server"))

    def postgresql(self):
        bindir = "/usr/lib/postgresql/15/bin"
        if not have(f"{bindir}/postgres"):
            return self.missing.append("postgresql")
        data = self.path("pg")
        os.makedirs(data, mode=0o700)
        shutil.chown(data, "postgres", "postgres")
        self.run(f"{bindir}/initdb", "-D", data, "-A", "trust", user="postgres")
        sock = self.path("pgsock")
        os.makedirs(sock)
        shutil.chown(sock, "postgres", "postgres")
        self.spawn(f"{bindir}/postgres", "-D", data, "-c", "listen_addresses=*", "-p", "5432",
                   "-k", sock, user="postgres")
        self.add(5432, "postgresql", "PostgreSQL", None)

    def mosquitto(self):
        if not have("/usr/sbin/mosquitto"):
            return self.missing.append("mosquitto")
        conf = self.write("mosquitto.conf", "listener 1883 0.0.0.0\nallow_anonymous true\n"
                          "persistence false\nuser root\n")
        self.spawn("/usr/sbin/mosquitto", "-c", conf)
        self.add(1883, "mqtt", "Mosquitto", pkg_version("mosquitto"))

    def dnsmasq(self):
        if not have("/usr/sbin/dnsmasq"):
            return self.missing.append("dnsmasq")
        self.spawn("/usr/sbin/dnsmasq", "-k", "-p", "53", "--no-resolv", "--no-hosts",
                   "-u", "root", f"--pid-file={self.path('dm.pid')}")
        self.add(53, "domain", "dnsmasq", pkg_version("dnsmasq-base") or pkg_version("dnsmasq"))
        self.expect_udp.append((53, "domain", "dnsmasq", pkg_version("dnsmasq-base")))

    def bind9(self):
        if not have("/usr/sbin/named"):
            return self.missing.append("bind9")
        os.makedirs(self.path("named"), exist_ok=True)
        conf = self.write("named.conf", f"""options {{ directory "{self.path('named')}";
listen-on port 5353 {{ any; }}; listen-on-v6 {{ none; }}; pid-file none; recursion no;
dnssec-validation no; }};
""")
        self.spawn("/usr/sbin/named", "-g", "-c", conf)
        self.add(5353, "domain", "ISC BIND", pkg_version("bind9"))
        self.expect_udp.append((5353, "domain", "ISC BIND", pkg_version("bind9")))

    def snmpd(self):
        if not have("/usr/sbin/snmpd"):
            return self.missing.append("snmpd")
        conf = self.write("snmpd.conf", "agentAddress udp:0.0.0.0:161\nrocommunity public\n"
                          "sysDescr portkit lab SNMP agent\n")
        self.spawn("/usr/sbin/snmpd", "-f", "-Lo", "-C", "-c", conf, "-p", self.path("snmpd.pid"))
        self.expect_udp.append((161, "snmp", None, None))

    def chrony(self):
        if not have("/usr/sbin/chronyd"):
            return self.missing.append("chrony")
        conf = self.write("chrony.conf", f"port 123\nallow all\nlocal stratum 8\n"
                          f"pidfile {self.path('chronyd.pid')}\n"
                          f"driftfile {self.path('chrony.drift')}\n")
        # -x: never touch the clock; -u root: no user switch in the test
        self.spawn("/usr/sbin/chronyd", "-d", "-x", "-u", "root", "-f", conf)
        self.expect_udp.append((123, "ntp", None, "v4"))

    def s_server(self):
        # OpenSSL's own test server, TLS 1.3 only
        self.spawn("openssl", "s_server", "-quiet", "-accept", "4433", "-cert", self.cert,
                   "-key", self.key, "-www", "-tls1_3")
        self.add(4433, "https", "OpenSSL s_server", None)

    DAEMONS = ["ssh", "dropbear", "nginx", "lighttpd", "apache", "samba", "xrdp", "vsftpd", "dovecot", "redis", "memcached",
               "mariadb", "postgresql", "mosquitto", "dnsmasq", "bind9", "s_server", "snmpd",
               "chrony"]

    def start(self, only=None):
        self.run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                 "-subj", f"/CN={TLS_CN}", "-keyout", self.key, "-out", self.cert)
        os.chmod(self.key, 0o644)
        for name in only or self.DAEMONS:
            getattr(self, name)()
        self.wait_listening()
        return self

    def wait_listening(self, timeout=60):
        want = {("tcp", p) for p, *_ in self.expect} | {("udp", p) for p, *_ in self.expect_udp}
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            out = subprocess.run(self.ns.cmd("ss", "-Hltun"), capture_output=True, text=True).stdout
            up = {(l.split()[0], int(l.split()[4].rsplit(":", 1)[1]))
                  for l in out.splitlines() if l.strip()}
            if want <= up:
                return
            # a condition poll, bounded in time; not a guess at readiness
            time.sleep(0.1)
        raise RuntimeError(f"not listening after {timeout} s: {sorted(want - up)}; log: "
                           + open(self.path("log")).read()[-2000:])

    def stop(self):
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
        for p in self.procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        shutil.rmtree(self.dir, ignore_errors=True)
