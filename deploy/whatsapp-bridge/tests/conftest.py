import os
import sys

sys.dont_write_bytecode = True  # no __pycache__ inside the repository for the modules imported from here on
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # deploy/whatsapp-bridge: the whatsapp_bridge package
sys.path.insert(0, HERE)  # bridge_testkit

import pytest  # noqa: E402

from bridge_testkit import BridgeHarness, FakeMostrador  # noqa: E402


@pytest.fixture
def mostrador():
    server = FakeMostrador()
    yield server
    server.stop()


@pytest.fixture
def data_dir(tmp_path):
    return str(tmp_path / "data")


@pytest.fixture
def make_bridge(data_dir, mostrador):
    """make_bridge(**settings) -> a started BridgeHarness on `data_dir` posting to `mostrador`."""
    started = []

    def make(**overrides):
        overrides.setdefault("webhook_url", mostrador.url)
        harness = BridgeHarness(data_dir, **overrides)
        started.append(harness)
        return harness

    yield make
    for harness in started:
        harness.stop()
