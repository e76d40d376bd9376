"""portkit lab web: the lab's live page, loaded in a real browser.

Debian's chromium, headless, driven by chromedriver through python3-selenium
(`chromium --dump-dom` cannot judge the page: it never returns while the
page's EventSource is open). One lab and one `lab web` per module, with a
name of their own, stopped by PID and taken down by finalizers whatever
happens. Every wait is bounded (WebDriverWait, 5 s where the issue says 5 s)
and waits for a condition, never for time.
"""
import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from conftest import BIN, run
from netns import need_root

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.common.exceptions import TimeoutException  # noqa: E402
from selenium.webdriver.chrome.options import Options  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

PY = sys.executable
SERVER1, ROUTER_WAN, PC1, PC2, REMOTE = (
    "198.18.10.10", "198.19.0.2", "198.18.10.11", "198.18.10.12", "198.19.1.10")
NODES = ["router", "server1", "pc1", "pc2", "pc3", "internet", "remote", "www"]
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


def lab(name, *args, timeout=60):
    return run("lab", "--name", name, *args, timeout=timeout)


def in_node_json(name, node, *args):
    r = lab(name, "exec", node, "--", BIN, *args, "--json")
    assert r.rc == 0, r.err
    return [json.loads(x) for x in r.out.splitlines()]


def start_web(name, *extra):
    """lab web, ready once it printed where it listens (read with a bound)"""
    p = subprocess.Popen([BIN, "lab", "--name", name, "web", *extra], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    ready, _, _ = select.select([p.stdout], [], [], 30)
    line = p.stdout.readline() if ready else ""
    m = re.search(r"(http://\S+/)", line)
    if not m:
        p.kill()
        p.wait()
        pytest.fail(f"lab web did not say where it listens: {line!r} {p.stderr.read()!r}")
    return p, m.group(1)


def stop(p):
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


@pytest.fixture(scope="module")
def web():
    need_root()
    if not os.path.exists(CHROMEDRIVER):
        pytest.skip("chromium-driver is not installed (scripts/deps test)")
    name = f"w{os.getpid() % 10000000}"
    p = None
    try:
        r = lab(name, "up")
        assert r.rc == 0, r.err
        p, url = start_web(name)
        yield name, url, p
    finally:
        if p:
            stop(p)
        lab(name, "down")


@pytest.fixture(scope="module")
def browser(web):
    o = Options()
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--window-size=1600,1100", "--no-first-run", "--disable-extensions"):
        o.add_argument(a)
    o.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    d = webdriver.Chrome(service=Service(CHROMEDRIVER), options=o)
    try:
        d.get(web[1])
        WebDriverWait(d, 10).until(lambda d: d.find_element(By.ID, "status").text == "live")
        yield d
    finally:
        d.quit()


def wait(d, cond, timeout=5.0, what=""):
    try:
        return WebDriverWait(d, timeout, poll_frequency=0.1).until(lambda d: cond())
    except TimeoutException:
        pytest.fail(f"not within {timeout} s: {what}")


def session_rows(d):
    """(class, text) of each row, read in one go: the page redraws the table"""
    return [tuple(x) for x in d.execute_script(
        "return [...document.querySelectorAll('#sessions tbody tr')]"
        ".map((r) => [r.className, r.innerText.replace(/\\s+/g, ' ')]);")]


def click_row(d, text):
    return d.execute_script(
        "for (const r of document.querySelectorAll('#sessions tbody tr'))"
        " if (r.innerText.replace(/\\s+/g, ' ').includes(arguments[0])) { r.click(); return true; }"
        " return false;", text)


def text_of(d, id):
    return d.execute_script("const e = document.getElementById(arguments[0]);"
                            " return e ? e.textContent : '';", id)


class Held:
    """curl holding a TCP connection open from a node until close()"""

    def __init__(self, name, node, target):
        ns = f"{name}-{node}"
        self.p = subprocess.Popen(["ip", "netns", "exec", ns, "curl", "-s", f"telnet://{target}"],
                                  stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)

    def close(self):
        if self.p.poll() is None:
            self.p.stdin.close()
            self.p.terminate()	# ours, by pid
            self.p.wait(timeout=10)


def established(name, node, dport):
    """the node's own session table: the local ports of its connections to dport"""
    for _ in range(100):	# bounded: curl connects within a few ms
        recs = in_node_json(name, node, "ls", "-t", "--state", "established", "--dport", dport)
        if recs:
            return [r["local_port"] for r in recs]
    pytest.fail(f"no connection from {node} to port {dport}")


def test_page_draws_every_node_and_server1s_ports(web, browser):
    name = web[0]
    d = browser
    for n in NODES:
        assert d.find_element(By.ID, f"node-{n}").is_displayed(), n
    listening = in_node_json(name, "server1", "ls", "-l")
    ports = {f"{r['local_port']}/{r['proto']}" for r in listening}
    assert {"80/tcp", "83/tcp", "21/tcp", "53/udp", "445/tcp", "3389/tcp", "3350/tcp"} <= ports

    def row():
        return " ".join(t for _, t in [tuple(x) for x in d.execute_script(
            "return [...document.querySelectorAll('#ports tbody tr')]"
            ".map((r) => ['', r.innerText.replace(/\\s+/g, ' ')]);")] if t.startswith("server1 "))
    wait(d, lambda: all(p in row() for p in ports), what=f"server1's ports {ports} in {row()!r}")
    assert "80/tcp http" in row() and "3389/tcp ms-wbt-server" in row()


def test_sessions_appear_with_their_ports_and_the_translation(web, browser):
    name, d = web[0], browser
    a = Held(name, "pc2", f"{SERVER1}:80")
    b = Held(name, "remote", f"{ROUTER_WAN}:8080")
    try:
        pa = established(name, "pc2", 80)[0]
        pb = established(name, "remote", 8080)[0]
        nat = [x for x in in_node_json(name, "router", "nat", "-t")
               if x["orig_src_port"] == pb and x["orig_dst_port"] == 8080]
        assert nat and nat[0]["reply_src_addr"] == SERVER1 and nat[0]["reply_src_port"] == 80
        forward = f"{ROUTER_WAN}:8080 -> {SERVER1}:80"

        def seen():
            t = [x for _, x in session_rows(d)]
            one = [x for x in t if f"{PC2}:{pa}" in x and f"{SERVER1}:80" in x]
            two = [x for x in t if f"{REMOTE}:{pb}" in x and forward in x]
            return one and two and "ESTAB" in one[0] and "ESTAB" in two[0]
        wait(d, seen, what=f"pc2:{pa} and remote:{pb} in {session_rows(d)}")
        # and on the map: the router's translation next to it, the ports at the ends
        labels = text_of(d, "labels")
        assert str(pa) in labels and str(pb) in labels and ":8080 -> server1:80" in labels
        a.close()

        def marked():
            rows = [(c, t) for c, t in session_rows(d) if f"{PC2}:{pa}" in t]
            return not rows or "closed" in rows[0][0] or "closing" in rows[0][0]
        wait(d, marked, what=f"pc2:{pa} marked closed in {session_rows(d)}")
    finally:
        a.close()
        b.close()


def test_a_click_shows_the_sessions_packets(web, browser):
    name, d = web[0], browser
    a = Held(name, "pc1", "198.19.2.10:80")	# out through the router's NAT
    try:
        pa = established(name, "pc1", 80)[0]
        nat = [x for x in in_node_json(name, "router", "nat", "-t")
               if x["orig_src_addr"] == PC1 and x["orig_src_port"] == pa]
        wan_port = nat[0]["reply_dst_port"]

        wait(d, lambda: click_row(d, f"{PC1}:{pa}"), what=f"pc1:{pa} listed")
        text = lambda: text_of(d, "ladder")  # noqa: E731
        wait(d, lambda: f"{pa} -> 80 SYN" in text() and f"{wan_port} -> 80 SYN" in text(),
             what=f"the SYN on both sides of the router in {text()!r}")
        assert f"80 -> {pa} ACK,SYN" in text() or f"80 -> {pa} SYN,ACK" in text()
        for col in ("pc1", "router", "internet", "www"):
            assert col in text()
    finally:
        a.close()


def test_a_dns_question_shorter_than_a_look_is_seen(web, browser):
    """a UDP socket that lives a few milliseconds: seen from its destroy message"""
    name, d = web[0], browser
    ask = ("import socket\n"
           "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
           "s.connect(('%s', 53))\n"
           "s.send(bytes.fromhex('abcd0100000100000000000003777777036c61620000010001'))\n"
           "s.settimeout(5)\n"
           "s.recv(512)\n"
           "print(s.getsockname()[1])\n" % SERVER1)
    r = lab(name, "exec", "pc1", "--", PY, "-c", ask)
    assert r.rc == 0, r.err
    port = int(r.out)
    wait(d, lambda: any(t.startswith("udp ") and f"{PC1}:{port}" in t and f"{SERVER1}:53" in t
                        for _, t in session_rows(d)),
         what=f"udp pc1:{port} -> server1:53 in {session_rows(d)}")


def test_a_tour_button_runs_its_step(web, browser):
    d = browser
    d.find_element(By.ID, "tour-1").click()
    out = lambda: text_of(d, "tourout")  # noqa: E731
    wait(d, lambda: "[step 1 of" in out(), timeout=30, what="step 1's output")
    wait(d, lambda: not d.find_element(By.ID, "tour-1").get_attribute("disabled"), timeout=60,
         what="the step's end")
    assert "server1" in out() and "80" in out()
    assert "ended with status" not in out()


def tour_children(pid):
    """lab web's children running `lab tour`: pid -> /proc status lines"""
    found = {}
    for f in os.listdir(f"/proc/{pid}/task"):
        try:
            kids = open(f"/proc/{pid}/task/{f}/children").read().split()
        except OSError:
            continue
        for c in kids:
            try:
                cmd = open(f"/proc/{c}/cmdline").read().split("\0")
                status = open(f"/proc/{c}/status").read()
            except OSError:
                continue
            if cmd[1:3] == ["lab", "tour"]:
                found[c] = dict(x.split(":\t", 1) for x in status.splitlines() if ":\t" in x)
                found[c]["sockets"] = sockets_of(c)
    return found


def sockets_of(pid):
    out = set()
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                t = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if t.startswith("socket:"):
                out.add(t)
    except OSError:
        pass
    return out


def test_a_tour_step_can_be_stopped(web):
    """the step runs with SIGTERM deliverable: the loop's blocked signals
    must not be inherited, or the step's bound and lab web's exit cannot end
    it; nor does it hold lab web's sockets"""
    url, p = web[1], web[2]
    for _ in range(50):	# bounded: another step may still be ending
        try:
            req = urllib.request.Request(url + "tour?step=1", method="POST")
            with urllib.request.urlopen(req, timeout=10) as r:
                assert r.status == 202
            break
        except urllib.error.HTTPError as e:
            assert e.code == 409, e
            time.sleep(0.1)
    found = {}
    end = time.monotonic() + 10
    while not found and time.monotonic() < end:	# the step lives a second or so
        found = tour_children(p.pid)
    assert found, "never saw the step's process"
    ours = sockets_of(p.pid)
    for c, st in found.items():
        blocked = int(st["SigBlk"], 16)
        assert not blocked & (1 << (signal.SIGTERM - 1)), (c, st["SigBlk"])
        assert not blocked & (1 << (signal.SIGINT - 1)), (c, st["SigBlk"])
        # and none of lab web's sockets (the capture, the listener, the pages')
        assert not st["sockets"] & ours, (c, st["sockets"] & ours)
    end = time.monotonic() + 60
    while tour_children(p.pid) and time.monotonic() < end:	# leave no step running
        time.sleep(0.1)


def test_500_sessions_the_page_stays_usable(web, browser):
    name, d = web[0], browser
    hold = ("import socket, sys\n"
            "s = [socket.create_connection(('%s', 80)) for _ in range(500)]\n"
            "print(len(s), flush=True)\n"
            "sys.stdin.read()\n" % SERVER1)
    p = subprocess.Popen(["ip", "netns", "exec", f"{name}-pc3", PY, "-c", hold],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline().strip() == "500"
        note = lambda: text_of(d, "sessnote")  # noqa: E731

        def counted():
            m = re.match(r"(\d+) sessions \((\d+) open\); (\d+) more not shown", note())
            return m and int(m.group(2)) >= 500
        wait(d, counted, timeout=10, what=f"500 open sessions counted: {note()!r}")
        rows = session_rows(d)
        assert len(rows) == 200 and "at most 200" in note()
        # still usable: a click answers with the session's packets
        assert click_row(d, SERVER1)
        wait(d, lambda: "packet" in text_of(d, "laddernote"), what="the ladder of one of 500")
    finally:
        p.stdin.close()
        p.wait(timeout=30)


def test_no_console_errors_and_nothing_from_elsewhere(web, browser):
    url = web[1]
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, errors
    for path in ("", "page.js", "page.css", "lab.json"):
        with urllib.request.urlopen(url + path, timeout=10) as r:
            body = r.read().decode()
            assert "default-src 'self'" in r.headers["Content-Security-Policy"]
        outside = {u for u in re.findall(r"https?://[^\s\"'<>)]+", body)
                   if not u.startswith("http://www.w3.org/")}
        assert not outside, (path, outside)


def test_the_feed_is_ls_and_nat_records(web):
    url = web[1]
    with urllib.request.urlopen(url + "events", timeout=10) as r:
        recs = []
        for line in r:	# bounded: the snapshot ends with "synced"
            line = line.decode()
            if line.startswith("event: synced"):
                break
            if line.startswith("data: {"):
                recs.append(json.loads(line[6:]))
    socks = [x for x in recs if x["type"] == "sock"]
    ls_keys = set(in_node_json(web[0], "server1", "ls", "-l")[0])
    assert socks and all(ls_keys <= set(x) for x in socks), ls_keys - set(socks[0])
    assert {"server1", "www", "pc3"} <= {x["node"] for x in socks}


def test_bad_listen_and_no_lab_are_one_line_errors(web):
    r = run("lab", "--name", web[0], "web", "--listen", "127.0.0.1:99999")
    assert r.rc == 2 and r.err.count("\n") == 1 and "--listen" in r.err, r.err
    r = run("lab", "--name", "nolab0", "web")
    assert r.rc == 2 and r.err.count("\n") == 1, r.err
    r = run("lab", "--name", web[0], "web", "--json")
    assert r.rc == 2 and r.err.count("\n") == 1, r.err


def test_sigterm_ends_it_cleanly_and_tells_the_pages(web):
    p, url = start_web(web[0])
    with urllib.request.urlopen(url + "lab.json", timeout=10) as r:
        assert json.loads(r.read())["name"] == web[0]
    with urllib.request.urlopen(url + "events", timeout=10) as feed:
        for line in feed:	# bounded: the snapshot ends with "synced"
            if line.startswith(b"event: synced"):
                break
        p.send_signal(signal.SIGTERM)
        rest = feed.read().decode()	# until lab web closes it
    assert 'event: end\ndata: {"reason":"lab web was stopped"}' in rest, rest[-300:]
    assert p.wait(timeout=10) == 0
    assert p.stderr.read() == ""


def request(url, method="GET", headers=None):
    req = urllib.request.Request(url, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers)


def test_only_its_own_pages_may_ask(web):
    """a page elsewhere can neither read the feed through a rebound name nor
    start a tour step (they run as root)"""
    url = web[1]
    port = url.rsplit(":", 1)[1].strip("/")
    assert request(url, headers={"Host": f"localhost:{port}"})[0] == 200
    assert request(url, headers={"Host": f"127.0.0.1:{port}"})[0] == 200
    assert request(url + "lab.json", headers={"Host": f"evil.example:{port}"})[0] == 403
    assert request(url + "tour?step=1", "POST",
                   {"Origin": "http://evil.example", "Host": f"127.0.0.1:{port}"})[0] == 403
    status, h = request(url + "events", "HEAD")
    assert status == 405 and h["Allow"] == "GET"
    status, h = request(url + "lab.json", "POST")
    assert status == 405 and h["Allow"] == "GET, HEAD"
    assert request(url + "tour")[0] == 405
    assert request(url + "nothing")[0] == 404
    assert request(url + "tour?step=99", "POST")[0] == 400


def test_lab_down_ends_it_without_a_nat_router(tmp_path):
    """lab down ends lab web with an error however the lab is made: the
    namespaces it holds open live on, empty, once their names are gone"""
    need_root()
    name = f"n{os.getpid() % 10000000}"
    topo = tmp_path / "t.conf"
    topo.write_text("segment lan 198.18.40.0/24\n"
                    "node a pc lan=198.18.40.1\n"
                    "node b server lan=198.18.40.2 serve http\n")
    p = None
    try:
        r = lab(name, "up", str(topo))
        assert r.rc == 0, r.err
        p, _ = start_web(name)
        r = lab(name, "down")
        assert r.rc == 0, r.err
        try:
            rc = p.wait(timeout=10)	# a look every 500 ms
        except subprocess.TimeoutExpired:
            pytest.fail("lab web still runs 10 s after lab down")
        err = p.stderr.read()
        assert rc == 2 and err.count("\n") == 1 and "taken down" in err, (rc, err)
    finally:
        if p:
            stop(p)
        lab(name, "down")
