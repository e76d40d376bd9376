"""Prometheus metrics, judged by the real tools: promtool (Debian's prometheus
package) checks every output, and a real Prometheus server, on the loopback
of a network namespace made here, scrapes `forward --metrics` and a real
node_exporter that reads `ls --summary --metrics` and `audit --metrics` as
textfiles. The values are read back through Prometheus's HTTP API and
compared with what the test sent through the forwarder and what
`portkit ls --summary --json` says.
"""
import json
import os
import shutil
import subprocess
import time
import urllib.parse

import pytest

from conftest import BIN, ROOT
from fwdutil import Fwd
from netns import Netns

PY = "/usr/bin/python3"
CLIENT = ("import socket,sys\n"
          "n=int(sys.argv[1]); sent=got=0\n"
          "for i in range(n):\n"
          "  s=socket.create_connection(('127.0.0.1',18080),timeout=5)\n"
          "  q=b'GET /x%d HTTP/1.0\\r\\n\\r\\n' % i; s.sendall(q); sent+=len(q)\n"
          "  while True:\n"
          "    d=s.recv(65536)\n"
          "    if not d: break\n"
          "    got+=len(d)\n"
          "  s.close()\n"
          "print(sent, got)\n")


def promtool(text):
    r = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                       text=True, timeout=30)
    return r.returncode, r.stdout + r.stderr


def need(*tools):
    for t in tools:
        if not shutil.which(t):
            pytest.skip(f"{t} is not installed (scripts/deps test)")


def test_ls_and_audit_metrics_pass_promtool():
    need("promtool")
    for args in (("ls", "--summary", "--metrics"), ("ls", "--metrics", "-a"),
                 ("audit", "--metrics")):
        r = subprocess.run([BIN, *args], capture_output=True, text=True, timeout=60)
        assert r.returncode in (0, 1), r.stderr
        rc, msg = promtool(r.stdout)
        assert rc == 0 and not msg.strip(), (args, msg)
        assert "# TYPE portkit_" in r.stdout


def test_metrics_refuses_other_formats():
    for args in (("ls", "--metrics", "--json"), ("ls", "--metrics", "--watch")):
        r = subprocess.run([BIN, *args], capture_output=True, text=True, timeout=30)
        assert r.returncode == 2 and "--metrics" in r.stderr
    r = subprocess.run([BIN, "forward", "127.0.0.1:1", "127.0.0.1:2", "--metrics", "nonsense"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and "--metrics" in r.stderr
    # --kernel serves metrics too (test_forward_kernel_metrics.py); what it
    # refuses is named for what it is
    r = subprocess.run([BIN, "forward", "--kernel", "8080", "198.18.9.2:80", "--workers", "2",
                        "--metrics", "127.0.0.1:9464"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and "--workers" in r.stderr and "--metrics" not in r.stderr


def http(ns, url, headers=None, raw=None):
    """A request from inside the namespace: the whole answer (line ends as \\n: the
    namespace's run() reads text)."""
    code = ("import socket,sys\n"
            "s=socket.create_connection(('127.0.0.1',int(sys.argv[1])),timeout=10)\n"
            "s.sendall(sys.argv[2].encode('latin1'))\n"
            "out=b''\n"
            "while True:\n"
            "  d=s.recv(65536)\n"
            "  if not d: break\n"
            "  out+=d\n"
            "sys.stdout.write(out.decode('latin1'))\n")
    port, path = url
    req = raw or (f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                  + "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items()) + "\r\n")
    return ns.run(PY, "-c", code, port, req).stdout


def test_endpoint_speaks_http_strictly():
    need("promtool")
    with Netns() as ns:
        f = Fwd("127.0.0.1:18080", "127.0.0.1:80", "--metrics", "127.0.0.1:9464", ns=ns)
        try:
            f.wait_for(" metrics ")
            text = http(ns, (9464, "/metrics"))
            head, body = text.split("\n\n", 1)
            assert head.startswith("HTTP/1.1 200 OK")
            assert "text/plain; version=0.0.4" in head
            rc, msg = promtool(body)
            assert rc == 0 and not msg.strip(), msg
            om = http(ns, (9464, "/metrics"),
                      {"Accept": "application/openmetrics-text; version=1.0.0"})
            assert "application/openmetrics-text" in om and om.endswith("# EOF\n")
            assert "# UNIT portkit_forward_bytes bytes" in om
            assert http(ns, (9464, "/nothing")).startswith("HTTP/1.1 404")
            assert http(ns, (9464, "/"), raw="POST /metrics HTTP/1.1\r\nContent-Length: 3\r\n"
                        "\r\nabc").startswith("HTTP/1.1 501")
            assert http(ns, (9464, "/"), raw="DELETE /metrics HTTP/1.1\r\n\r\n") \
                .startswith("HTTP/1.1 405")
            assert http(ns, (9464, "/"), raw="GET /metrics HTTP/1.1\r\nX: \x01\r\n\r\n") \
                .startswith("HTTP/1.1 400")
            assert http(ns, (9464, "/"), raw="GET /metrics HTTP/1.1\r\n" + "X: y\r\n" * 2000) \
                .startswith("HTTP/1.1 431")
            # two requests on one connection (keep-alive), both answered
            two = http(ns, (9464, "/"), raw="GET /metrics HTTP/1.1\r\n\r\n"
                       "GET /metrics HTTP/1.1\r\nConnection: close\r\n\r\n")
            assert two.count("HTTP/1.1 200 OK") == 2
        finally:
            log = f.stop()
    assert "stopped" in log


def query(port, q):
    return f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": q})


def test_real_prometheus_scrapes_forward_and_node_exporter(tmp_path):
    need("prometheus", "prometheus-node-exporter", "promtool")
    text_dir = tmp_path / "textfile"
    text_dir.mkdir()
    with Netns() as ns:
        ns.spawn(BIN, "serve", "http:80", "--bind", "127.0.0.1")
        f = Fwd("127.0.0.1:18080", "127.0.0.1:80", "--metrics", "127.0.0.1:9464", ns=ns)
        try:
            f.wait_for(" metrics ")
            assert ns.run(PY, "-c", "import socket,time\n"
                          "for i in range(500):\n"
                          "  try: socket.create_connection(('127.0.0.1',80)).close(); break\n"
                          "  except OSError: time.sleep(0.01)\n").returncode == 0
            sent, got = map(int, ns.run(PY, "-c", CLIENT, "7").stdout.split())
            # the textfiles: a snapshot of the sockets, taken while the JSON
            # summary says the same before and after (nothing moved between)
            # (written by contrib/portkit-textfile, as its systemd timer would)
            for _ in range(5):
                before = ns.run(BIN, "ls", "--summary", "--json").stdout
                r = ns.run(os.path.join(ROOT, "contrib/portkit-textfile"), text_dir,
                           env={"PORTKIT": BIN})
                after = ns.run(BIN, "ls", "--summary", "--json").stdout
                if before == after:
                    break
            assert r.returncode == 0 and before == after, r.stderr
            assert sorted(os.listdir(text_dir)) == ["portkit_audit.prom", "portkit_ls.prom"]
            audit = (text_dir / "portkit_audit.prom").read_text()
            ne = ns.spawn("prometheus-node-exporter", "--web.listen-address=127.0.0.1:9100",
                          "--collector.disable-defaults", "--collector.textfile",
                          f"--collector.textfile.directory={text_dir}")
            conf = tmp_path / "prometheus.yml"
            conf.write_text("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                            "scrape_configs:\n"
                            "  - job_name: forward\n    static_configs:\n"
                            "      - targets: ['127.0.0.1:9464']\n"
                            "  - job_name: node\n    static_configs:\n"
                            "      - targets: ['127.0.0.1:9100']\n")
            pm = ns.spawn("prometheus", f"--config.file={conf}",
                          f"--storage.tsdb.path={tmp_path / 'data'}",
                          "--web.listen-address=127.0.0.1:9090", "--log.level=warn")
            want = {
                'portkit_forward_sessions_total{job="forward"}': 7,
                'portkit_forward_bytes_total{job="forward",direction="from_client"}': sent,
                'portkit_forward_bytes_total{job="forward",direction="to_client"}': got,
                'portkit_forward_session_ends_total{job="forward",reason="closed"}': 7,
                'portkit_forward_sessions_open{job="forward"}': 0,
            }
            summary = [json.loads(x) for x in before.splitlines()]
            for rec in summary:
                if rec["kind"] == "state":
                    want[f'portkit_sockets{{job="node",proto="{rec["proto"]}",'
                         f'state="{rec["state"]}"}}'] = rec["count"]
                if rec["kind"] == "listeners":
                    want[f'sum(portkit_listeners{{job="node",category="{rec["category"]}"}})'] \
                        = rec["count"]
            want['sum(portkit_audit_findings_by_severity{job="node"})'] = \
                audit.count("portkit_audit_findings{")
            got_values = {}
            deadline = time.monotonic() + 90     # bounded: Prometheus starts and scrapes
            code = ("import json,sys,urllib.request\n"
                    "for u in sys.argv[1:]:\n"
                    "  try:\n"
                    "    r=json.load(urllib.request.urlopen(u,timeout=5))['data']['result']\n"
                    "    print(json.dumps([float(x['value'][1]) for x in r]))\n"
                    "  except Exception as e: print('[]')\n")
            while time.monotonic() < deadline:
                out = ns.run(PY, "-c", code, *[query(9090, q) for q in want]).stdout.splitlines()
                got_values = {q: json.loads(v) for q, v in zip(want, out)}
                if all(got_values[q] == [float(v)] for q, v in want.items()):
                    break
                assert pm.poll() is None and ne.poll() is None
                time.sleep(0.5)
        finally:
            f.stop()
    assert got_values == {q: [float(v)] for q, v in want.items()}


def test_the_documented_alerts_load(tmp_path):
    """docs/metrics.md's alert rules are what promtool accepts."""
    need("promtool")
    import re
    text = open(os.path.join(ROOT, "docs/metrics.md")).read()
    rules = tmp_path / "rules.yml"
    rules.write_text(re.search(r"```yaml\n(.*?)```", text, re.S).group(1))
    r = subprocess.run(["promtool", "check", "rules", str(rules)], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0 and "4 rules found" in r.stdout, r.stdout + r.stderr
