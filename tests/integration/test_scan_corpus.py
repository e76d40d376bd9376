"""--sv against a subset of the service corpus (tests/integration/svcorpus.py,
bench/svcorpus/run runs all of it beside nmap): each daemon in a namespace of
its own on its package's default port, and portkit must name exactly the
service, product and version the wire says (the version checked against the
installed Debian package), no product where the wire names none, and the
product's CPE. The daemons are the ones scripts/deps installs for the test
profile; those missing are left out, and with none the test is skipped."""
import json

import pytest

from conftest import BIN
import svcorpus

SUBSET = ["unbound", "nsd", "ngircd", "slapd", "kamailio", "tinyproxy", "rsync"]


@pytest.fixture(scope="module")
def corpus():
    c = svcorpus.Corpus(SUBSET)
    with c:
        if not c.hosts:
            pytest.skip("no corpus daemon is installed: " + repr(c.failed))
        yield c


def test_sv_names_each_corpus_daemon_exactly(corpus):
    addrs = [addr for _, _, addr, _ in corpus.hosts]
    ports = sorted({p for *_, lab in corpus.hosts for p, *_ in lab.expect})
    # one scan: IRC on 6667 and 6697 of one server asked at once register
    # two nicks (the probe's nick carries the port), so neither gets 433
    r = corpus.scanner.run(BIN, "scan", *addrs, "-p", ",".join(map(str, ports)), "--sv",
                           "--json", timeout=120)
    assert r.returncode == 0, r.stderr
    got = {(x["addr"], x["port"]): x for x in map(json.loads, r.stdout.splitlines())
           if "port" in x}
    wrong = []
    for name, _, addr, lab in corpus.hosts:
        for port, service, product, version in lab.expect:
            g = got.get((addr, port), {})
            have = (g.get("service"), g.get("product"), g.get("version"))
            if have != (service, product, version) or g.get("service_source") != "probe":
                wrong.append((name, port, (service, product, version), have))
    assert not wrong, wrong
    # a CPE where the product is known, with the version the wire said;
    # none where no product was seen
    for (addr, port), g in got.items():
        if g["product"] == "Unbound":
            assert g["cpe"] == "cpe:/a:nlnetlabs:unbound:" + g["version"], g
        if g["product"] is None:
            assert g["cpe"] is None, g
    # a daemon that is installed but would not start is a failure here
    broken = {k: v for k, v in corpus.failed.items() if not v.startswith("not installed")}
    assert not broken, broken
