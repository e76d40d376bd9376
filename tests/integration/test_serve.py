"""portkit serve: responders as real clients see them, and as scanners name them.

Each test runs portkit serve in a network namespace it makes (loopback, and
198.18.1.0/24 on a veth pair for a client in a second namespace), talks to
it with clients from the Python standard library or by the protocols' own
bytes (helpers/serveclient.py), and checks portkit scan --sv and, where
nmap is installed, nmap -sV beside it. Every process is started here and
ended by its handle; the namespaces go whatever happens.
"""
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys

import pytest

from conftest import BIN, run
from netns import Netns

HELPER = os.path.join(os.path.dirname(__file__), "helpers", "serveclient.py")
PY = sys.executable
VERSION = run("--version").out.split()[-1]      # "portkit 0.1.0"
SPECS = ["http", "http:83", "ftp", "ssh", "smtp", "dns", "telnet", "rdp", "rdp:3350", "smb",
         "redis", "mysql", "echo"]


class Serve:
    """portkit serve in ns; ready once it printed its 'serving' line."""

    def __init__(self, ns, *args):
        self.p = subprocess.Popen(ns.cmd(BIN, "serve", *args), stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        ns.procs.append(self.p)
        line = self.p.stderr.readline()
        if not line.startswith("portkit: serving "):
            self.p.kill()
            raise AssertionError(f"serve did not start: {line}{self.p.stderr.read()}")
        self.ready = line

    def stop(self):
        self.p.send_signal(signal.SIGTERM)
        out, err = self.p.communicate(timeout=30)
        return self.p.returncode, out, err


@pytest.fixture(scope="module")
def lab():
    """server (198.18.1.2) runs every responder; client (198.18.1.1) asks."""
    client, server = Netns(), Netns()
    try:
        client.link(server, "198.18.1", 1)
        s = Serve(server, *SPECS, "--json", "--hostname", "server1", "--dns",
                  "server1.lab=198.18.1.2", "--dns", "server1.lab=2001:db8::2", "--dns",
                  "www.lab=198.18.1.3")
        yield client, server, s
        s.stop()
    finally:
        client.close()
        server.close()


def ask(ns, host, *checks):
    r = ns.run(PY, HELPER, host, *checks, timeout=60)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_every_responder_answers_a_real_client(lab):
    client, _, s = lab
    assert "http on [::]:80/tcp" in s.ready and "dns on [::]:53/tcp+udp" in s.ready
    got = ask(client, "198.18.1.2", "http:80", "http:83", "http_client_port:80", "ftp:21",
              "smtp:25", "ssh:22", "dns:53", "rdp:3389", "rdp:3350", "smb:445", "redis:6379",
              "mysql:3306", "telnet:23", "echo:7")
    errors = {k: v["error"] for k, v in got.items() if "error" in v}
    assert not errors, errors
    h = got["http:80"]
    assert h["status"] == 200 and h["server"].startswith("portkit/") and h["date"]
    assert "198.18.1.2:80" in h["body"] and "198.18.1.1:" in h["body"]
    assert "You reached port 83" in got["http:83"]["body"]
    # the lesson of the page: the client's own ephemeral port, seen from the server
    me = got["http_client_port:80"]["me"]
    assert f"{me[0]}:{me[1]}" in got["http_client_port:80"]["reply"]
    f = got["ftp:21"]
    assert f["welcome"].startswith("220 ") and f["nlst"] == ["README.txt"] and f["pwd"] == "/"
    assert f["list"][0].endswith(" README.txt") and "control port (21)" in f["readme"]
    assert got["smtp:25"] == {"ehlo": 250, "refused": {}}
    sh = got["ssh:22"]
    assert sh["ident"].startswith("SSH-2.0-portkit_") and sh["msg"] == 20 and sh["aligned"]
    assert "curve25519-sha256" in sh["kex"]
    d = got["dns:53"]
    assert d["a"] == {"id": 0x1234, "rcode": 0, "aa": True, "answers": ["198.18.1.2"]}
    assert d["aaaa"]["answers"] == ["2001:db8::2"] and d["tcp"]["answers"] == ["198.18.1.2"]
    assert d["nx"]["rcode"] == 3 and d["version"]["answers"][0].startswith("portkit ")
    for port in ("3389", "3350"):
        assert got[f"rdp:{port}"] == {"tpkt": 3, "len": 19, "cc": 0xd0, "neg_type": 2}
    assert got["smb:445"] == {"proto": "fe534d42", "command": 0, "message_id": 7,
                              "structure": 65, "dialect": 0x0302}
    assert got["redis:6379"]["reply"] == "+PONG\r\n+PONG\r\n$5\r\nhello\r\n+OK\r\n"
    m = got["mysql:3306"]
    assert m["protocol"] == 10 and m["version"].startswith("8.0.") and m["seq"] == 0
    assert m["version"].endswith("-portkit-" + VERSION)
    assert m["plugin"] == "mysql_native_password" and m["thread"] == 1
    assert (m["err"], m["code"], m["state"], m["seq2"]) == (0xff, 1045, "28000", 2)
    assert got["telnet:23"]["iac"] == "fffb01" and got["telnet:23"]["prompt"]
    assert got["echo:7"] == {"tcp": "ping\n", "udp": "dgram"}


def test_rdp_tls_is_real(lab):
    """PROTOCOL_SSL selected means a TLS handshake follows, with a certificate."""
    client, _, _ = lab
    got = ask(client, "198.18.1.2", "rdp_tls:3389")["rdp_tls:3389"]
    assert got == {"neg": "0200080001000000", "tls": got.get("tls"), "cert": True}, got
    assert got["tls"] in ("TLSv1.2", "TLSv1.3")


@pytest.mark.skipif(not shutil.which("nmap"), reason="nmap is not installed")
def test_nmap_rdp_enum_encryption_sees_what_is_offered(lab):
    """TLS and standard RDP security, nothing else: nmap's CredSSP probe
    offers TLS too (3), so TLS is chosen for it; CredSSP with early user
    authorization and RDSTLS alone get RDP_NEG_FAILURE (shown with -d)."""
    client, _, _ = lab
    r = client.run("nmap", "-d", "-n", "-Pn", "-p", "3389", "--script", "rdp-enum-encryption",
                   "198.18.1.2", timeout=300)
    assert r.returncode == 0, r.stderr
    lines = [x.strip("|_ ") for x in r.stdout.splitlines()]
    layer = lines[lines.index("Security layer") + 1:][:5]
    assert layer == ["CredSSP (NLA): SUCCESS",
                     "CredSSP with Early User Auth: FAILED (SSL_REQUIRED_BY_SERVER)",
                     "Native RDP: SUCCESS", "RDSTLS: FAILED (SSL_REQUIRED_BY_SERVER)",
                     "SSL: SUCCESS"], r.stdout


def test_scan_sv_names_what_serve_runs(lab):
    client, _, _ = lab
    ports = "7,21,22,23,25,53,80,83,445,3306,3350,3389,6379"
    r = client.run(BIN, "scan", "198.18.1.2", "-p", ports, "--sv", "--json", timeout=120)
    assert r.returncode == 0, r.stderr
    recs = {x["port"]: x for x in map(json.loads, r.stdout.splitlines()) if "port" in x}
    want = {7: "echo", 21: "ftp", 22: "ssh", 23: "telnet", 25: "smtp", 53: "domain", 80: "http",
            83: "http", 445: "smb", 3306: "mysql", 3350: "rdp", 3389: "rdp", 6379: "redis"}
    assert {p: recs[p]["service"] for p in want} == want
    assert all(recs[p]["service_source"] == "probe" for p in want)
    for p in (21, 22, 25, 53, 80, 3306, 6379):
        assert recs[p]["product"] == "portkit", recs[p]


@pytest.mark.skipif(not shutil.which("nmap"), reason="nmap is not installed")
def test_nmap_names_them_too(lab):
    """nmap -sV (its default intensity) as the second opinion. nmap names
    an HTTP server on a port other than its usual ones only when it knows
    the product (it has no rule for HTTP in general), and runs every probe
    it has on such a port first, so 83 is left out here; scan --sv names it."""
    client, _, _ = lab
    ports = "7,21,22,23,25,53,80,445,3306,3350,3389,6379"
    r = client.run("nmap", "-n", "-Pn", "-sV", "-p", ports,
                   "-oX", "-", "198.18.1.2", timeout=600)
    assert r.returncode == 0, r.stderr
    import xml.etree.ElementTree as ET
    svc = {int(p.get("portid")): p.find("service") for p in ET.fromstring(r.stdout).iter("port")}
    named = {p: (s.get("name"), s.get("method")) for p, s in svc.items()}
    want = {7: "echo", 21: "ftp", 22: "ssh", 23: "telnet", 25: "smtp", 53: "domain", 80: "http",
            445: "microsoft-ds", 3306: "mysql", 3350: "ms-wbt-server", 3389: "ms-wbt-server",
            6379: "redis"}
    assert {p: named[p][0] for p in want} == want, named
    # probed, not guessed from the port number
    assert all(named[p][1] == "probed" for p in want), named
    # a MySQL 8.0 version string: nmap read the old "0.1.0-portkit" as Sphinx Search
    assert (svc[3306].get("product"), svc[3306].get("version")) == ("MySQL",
                                                                   "8.0.36-portkit-" + VERSION)


@pytest.mark.skipif(not shutil.which("dig"), reason="dig (dnsutils) is not installed")
def test_dig_sees_an_authoritative_zone(lab):
    """dig's view: A and AAAA of the names given, PTR for their addresses,
    and negative answers a resolver can cache (RFC 2308): NODATA for a
    name without that type and NXDOMAIN for no name, each with the zone's
    SOA in the authority section."""
    client, _, _ = lab
    soa = "lab. 60 IN SOA server1.lab. hostmaster.lab. 1 3600 600 86400 60"

    def dig(*q):
        r = client.run("dig", "@198.18.1.2", "+norec", "+tries=1", "+time=5", "+noall",
                       "+comments", "+answer", "+authority", *q, timeout=30)
        assert r.returncode == 0, r.stdout + r.stderr
        status = re.search(r"status: (\w+),", r.stdout).group(1)
        records = [" ".join(x.split()) for x in r.stdout.splitlines()
                   if x and not x.startswith(";")]
        return status, records

    assert dig("server1.lab", "A") == ("NOERROR", ["server1.lab. 60 IN A 198.18.1.2"])
    assert dig("www.lab", "AAAA") == ("NOERROR", [soa])            # NODATA
    assert dig("nobody.lab", "A") == ("NXDOMAIN", [soa])
    assert dig("-x", "198.18.1.2") == ("NOERROR", ["2.1.18.198.in-addr.arpa. 60 IN PTR server1.lab."])
    status, records = dig("-x", "2001:db8::2")
    assert status == "NOERROR" and records[0].endswith(".ip6.arpa. 60 IN PTR server1.lab.")
    status, records = dig("-x", "198.18.1.99")                     # not a record's address
    assert status == "NXDOMAIN" and records[0].startswith("1.18.198.in-addr.arpa. 60 IN SOA ")


@pytest.mark.skipif(not shutil.which("smbclient"), reason="smbclient is not installed")
@pytest.mark.parametrize("login", [["-N"], ["-U", "user%pass"]], ids=["anonymous", "user"])
def test_smbclient_logon_refused_after_the_challenge(lab, login):
    """smbclient -L gets what a server with no guest account answers every
    logon: the NTLMSSP challenge, then STATUS_LOGON_FAILURE."""
    client, _, _ = lab
    r = client.run("smbclient", "-s", "/dev/null", "-L", "//198.18.1.2", *login, "-d", "3",
                   timeout=60)
    out = r.stdout + r.stderr
    assert "Got challenge flags:" in out, out         # the CHALLENGE was read
    assert "session setup failed: NT_STATUS_LOGON_FAILURE" in out, out
    assert r.returncode == 1, out


def test_one_record_per_connection_and_datagram():
    with Netns() as ns:
        s = Serve(ns, "echo:7007", "--json", "--count", "2")
        r = ns.run(PY, "-c", "import socket\n"
                   "c=socket.create_connection(('127.0.0.1',7007)); c.sendall(b'abc');"
                   " c.recv(3); c.close()\n"
                   "u=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); u.settimeout(10);"
                   " u.sendto(b'hello',('127.0.0.1',7007)); u.recvfrom(10)\n")
        assert r.returncode == 0, r.stderr
        out, _ = s.p.communicate(timeout=30)
    recs = [json.loads(line) for line in out.splitlines()]
    keys = {"time", "proto", "service", "client_addr", "client_port", "server_addr",
            "server_port", "bytes_in", "bytes_out", "duration"}
    assert all(set(x) == keys for x in recs), recs
    tcp, udp = sorted(recs, key=lambda x: x["proto"])
    assert (tcp["proto"], tcp["service"], tcp["bytes_in"], tcp["bytes_out"]) == ("tcp", "echo", 3, 3)
    assert (udp["proto"], udp["bytes_in"], udp["bytes_out"]) == ("udp", 5, 5)
    assert udp["server_addr"] == "127.0.0.1" and udp["server_port"] == 7007
    assert s.p.returncode == 0


def test_ten_thousand_connections_with_bounded_memory():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 10200:
        pytest.skip(f"each side holds 10,000 descriptors; the hard limit is {hard}")
    with Netns() as ns:
        s = Serve(ns, "http:8080", "redis:6379", "--idle-timeout", "120")
        holder = ns.run(PY, "-c", HOLD, str(s.p.pid), timeout=180)
        code, out, _ = s.stop()
    assert holder.returncode == 0, holder.stderr
    got = json.loads(holder.stdout)
    assert got["open"] == 10000 and got["pongs"] == 10000
    # a connection costs its struct and the kernel's socket, no buffers of ours
    assert got["rss_per_conn"] < 2048, got
    assert code == 0 and len(out.splitlines()) == 10000


# 10,000 concurrent redis connections, each PINGed once while all are open;
# the server's resident memory before and after (from /proc)
HOLD = r"""
import json, resource, socket, sys, selectors
resource.setrlimit(resource.RLIMIT_NOFILE, (resource.getrlimit(resource.RLIMIT_NOFILE)[1],) * 2)
pid = sys.argv[1]
def rss():
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
before = rss()
conns = []
for i in range(10000):
    c = socket.socket()
    c.connect(("127.0.0.1", 6379))
    conns.append(c)
for c in conns:
    c.sendall(b"PING\r\n")
pongs = 0
for c in conns:
    c.settimeout(20)
    pongs += c.recv(16) == b"+PONG\r\n"
after = rss()
print(json.dumps({"open": len(conns), "pongs": pongs, "rss_per_conn": (after - before) / len(conns)}))
"""


@pytest.mark.parametrize("args,msg", [
    (["serve"], "which responders?"),
    (["serve", "gopher"], "unknown responder 'gopher'"),
    (["serve", "5"], "no responder for port 5"),
    (["serve", "http:0"], "port 0"),
    (["serve", "http:70000"], "invalid port '70000'"),
    (["serve", "http:80", "echo:80"], "port 80 is given twice"),
    (["serve", "ssh/udp"], "ssh answers on tcp only"),
    (["serve", "http", "--dns", "nameonly"], "expected NAME=ADDR"),
    (["serve", "http", "--bind", "localhost"], "invalid address 'localhost'"),
])
def test_usage_errors(args, msg):
    r = run(*args)
    assert r.rc == 2 and r.out == "" and msg in r.err and len(r.err.splitlines()) == 1, r.err


def test_busy_port_is_a_clear_error():
    with Netns() as ns:
        s = Serve(ns, "echo:7007")
        r = ns.run(BIN, "serve", "http:7007")
        s.stop()
    assert r.returncode == 2
    assert r.stderr.strip() == ("portkit: cannot listen on [::]:7007/tcp for http: "
                                "Address already in use")


def test_list():
    r = run("serve", "--list", "--json")
    names = {x["responder"]: x for x in r.json()}
    assert r.rc == 0 and names["dns"] == {"responder": "dns", "port": 53, "transport": "tcp+udp"}
    assert {"http", "ftp", "ssh", "smtp", "telnet", "rdp", "smb", "redis", "mysql", "echo"} <= set(names)


def test_all_ports_table_goes_when_serve_is_killed():
    """SIGKILL gives serve no chance to remove its table; the kernel does
    (nftables' owner flag: the table belongs to serve's netlink socket, and
    goes when the process dies). Before, the table stayed and kept
    redirecting every local TCP connection to a port nobody listened on,
    and the next --all-ports was refused. The table also refuses changes
    from anyone else while serve runs."""
    ns = Netns()
    try:
        s = Serve(ns, "--all-ports")
        assert "table inet portkit_serve" in ns.run("nft", "list", "tables").stdout
        r = ns.run("nft", "add", "element", "inet", "portkit_serve", "keep", "{", "5", "}")
        assert r.returncode != 0
        s.p.kill()
        s.p.communicate(timeout=30)
        assert ns.run("nft", "list", "ruleset").stdout == ""
        s = Serve(ns, "--all-ports")
        code, _, err = s.stop()
        assert code == 0, err
        assert ns.run("nft", "list", "ruleset").stdout == ""
    finally:
        ns.close()


def test_all_ports_answers_everywhere_but_where_something_listens():
    """--all-ports from the other side, as a firewall test uses it: 1,000
    random ports open, each answered as the port it was meant for; a port
    that already had a listener keeps it; the nftables table goes at exit."""
    import random
    client, server = Netns(), Netns()
    try:
        client.link(server, "198.18.2", 2)
        keeper = server.spawn(PY, "-c", "import socket,sys\n"
                              "s=socket.create_server(('0.0.0.0',9999))\n"
                              "print('ok',flush=True)\n"
                              "c,_=s.accept(); c.sendall(b'the real one'); sys.stdin.read()")
        assert keeper.stdout.readline().strip() == "ok"
        s = Serve(server, "--all-ports", "echo:7007")
        assert s.ready.startswith("portkit: serving every TCP port nothing listens on (redirected to port ")
        ports = sorted(random.Random(7).sample(range(1, 65536), 1000))
        ports = [p for p in ports if p not in (9999, 7007)]
        r = client.run(BIN, "scan", "198.18.2.2", "-p", ",".join(map(str, ports)), "--json",
                       timeout=120)
        opened = sorted(x["port"] for x in map(json.loads, r.stdout.splitlines())
                        if x.get("state") == "open")
        assert opened == ports
        got = ask(client, "198.18.2.2", "ssh:22", "http_client_port:80", "http:8080", "http:8000",
                  "http:8888", "ftp:21", "echo:7007")
        assert got["ssh:22"]["ident"].startswith("SSH-2.0-portkit_")
        # FTP's data ports are new listeners: not redirected, from outside or inside
        assert got["ftp:21"].get("nlst") == ["README.txt"], got["ftp:21"]
        assert ask(server, "127.0.0.1", "ftp:21")["ftp:21"].get("nlst") == ["README.txt"]
        assert "You reached port 80 " in got["http_client_port:80"]["reply"]
        # the http-alt ports speak HTTP too, not the one-line banner
        for port in (8080, 8000, 8888):
            assert got[f"http:{port}"].get("status") == 200, got[f"http:{port}"]
            assert f"You reached port {port} " in got[f"http:{port}"]["body"]
        assert got["echo:7007"] == {"tcp": "ping\n", "udp": "dgram"}    # named beside
        r = client.run(PY, "-c", "import socket\n"
                       "for p in (40123, 9999):\n"
                       "  s=socket.create_connection(('198.18.2.2',p),timeout=10)\n"
                       "  print(s.recv(100).decode().strip())")
        assert r.stdout.splitlines() == ["portkit serve on portkit: you reached port 40123/tcp",
                                         "the real one"], r.stderr
        code, out, err = s.stop()
        assert code == 0, err
        assert server.run("nft", "list", "ruleset").stdout == ""
    finally:
        client.close()
        server.close()
