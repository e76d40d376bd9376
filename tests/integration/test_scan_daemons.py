"""--sv against real Debian daemons, started by hand in a namespace
(tests/integration/daemons.py): every service, product and version the
daemon reveals, with the expected version taken from the installed Debian
package. Daemons whose package is missing are left out; with none at all
the test is skipped (scripts/deps installs them for the test profile)."""
import json

import pytest

from conftest import BIN
from daemons import Lab
from netns import Netns


@pytest.fixture(scope="module")
def daemons():
    scanner, target = Netns(), Netns()
    lab = None
    try:
        scanner.link(target, "198.18.56", 56)
        lab = Lab(target).start()
        if not lab.expect:
            pytest.skip("no daemon package is installed")
        yield scanner, lab
    finally:
        if lab:
            lab.stop()
        target.close()
        scanner.close()


def test_sv_names_every_daemon_and_its_version(daemons):
    scanner, lab = daemons
    ports = ",".join(str(p) for p, *_ in lab.expect)
    r = scanner.run(BIN, "scan", "198.18.56.2", "-p", ports, "--sv", "--json", timeout=120)
    assert r.returncode == 0, r.stderr
    got = {x["port"]: x for x in map(json.loads, r.stdout.splitlines()) if "port" in x}
    wrong = []
    for port, service, product, version in lab.expect:
        g = got.get(port, {})
        if (g.get("service"), g.get("product"), g.get("version")) != (service, product, version) \
                or g.get("service_source") != "probe":
            wrong.append((port, (service, product, version),
                          (g.get("service"), g.get("product"), g.get("version"))))
    assert not wrong, wrong
    # TLS seen by OpenSSL: the certificate, the protocol (s_server is TLS 1.3 only)
    assert got[443]["tunnel"] == "ssl" and got[443]["tls_subject"] == "daemons.portkit.test"
    if 4433 in got:
        assert got[4433]["tls_version"] == "TLSv1.3"


def test_sv_xml_marks_ssl_tunnels(daemons, tmp_path):
    scanner, lab = daemons
    out = tmp_path / "sv.xml"
    r = scanner.run(BIN, "scan", "198.18.56.2", "-p", "80,443", "--sv", "-oX", str(out), timeout=60)
    assert r.returncode == 0, r.stderr
    xml = out.read_text()
    assert 'portid="443"' in xml and 'tunnel="ssl"' in xml and 'product="nginx"' in xml


def test_udp_answers_name_the_daemon(daemons):
    scanner, lab = daemons
    if not lab.expect_udp:
        pytest.skip("no UDP daemon package is installed")
    ports = ",".join(str(p) for p, *_ in lab.expect_udp)
    r = scanner.run(BIN, "scan", "198.18.56.2", "-s", "udp", "-p", ports, "--json", timeout=120)
    assert r.returncode == 0, r.stderr
    got = {x["port"]: x for x in map(json.loads, r.stdout.splitlines()) if "port" in x}
    for port, service, product, version in lab.expect_udp:
        g = got[port]
        assert g["state"] == "open" and g["service"] == service, (port, g)
        assert (g["product"], g["version"]) == (product, version), (port, g)
    if 161 in got:
        assert got[161]["banner"] == "portkit lab SNMP agent"
