"""Shared helpers: run the real portkit binary named by $PORTKIT."""
import json
import os
import subprocess

import pytest

BIN = os.environ.get("PORTKIT", os.path.join(os.path.dirname(__file__), "../../build/portkit"))
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))


class Result:
    def __init__(self, cp):
        self.rc = cp.returncode
        self.out = cp.stdout
        self.err = cp.stderr

    def json(self):
        return [json.loads(line) for line in self.out.splitlines()]


def run(*args, env=None, timeout=30, stdin=subprocess.DEVNULL):
    e = dict(os.environ)
    e.pop("NO_COLOR", None)
    if env:
        e.update(env)
    cp = subprocess.run([BIN, *map(str, args)], capture_output=True, text=True,
                        env=e, timeout=timeout, stdin=stdin)
    return Result(cp)


@pytest.fixture
def pk():
    return run
