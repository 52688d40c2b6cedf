from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from spendwatch.aws.session import AwsContext
from spendwatch.services.scan import ScanSettings, run_scan
from spendwatch_emulator import open_fleet
from spendwatch_emulator.fleet import parse_fleet

REPO = Path(__file__).resolve().parent.parent
TINY_FLEET = REPO / "fleets" / "tiny-fleet.json"


@pytest.fixture(autouse=True)
def _no_real_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never reach a real account, whatever the machine's configuration."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")


def emulated(doc: dict[str, Any]) -> Any:
    """``with emulated(fleet(...)) as aws:`` an AwsContext over the emulated AWS."""
    return open_fleet(parse_fleet(doc))


def scan_json(doc: dict[str, Any], lookback_hours: int = 24, **settings: Any) -> dict[str, Any]:
    with emulated(doc) as aws:
        return run_scan(aws, ScanSettings(lookback_hours=lookback_hours, **settings)).to_json()


def endpoints_by_name(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["endpoint_name"]: e for e in report["endpoints"]}


def components_by_name(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["inference_component_name"]: c for c in report["inference_components"]}


@pytest.fixture
def tiny_fleet() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(TINY_FLEET.read_text())
    return loaded


@pytest.fixture
def tiny_aws(tiny_fleet: dict[str, Any]) -> Iterator[AwsContext]:
    with emulated(tiny_fleet) as aws:
        yield aws


@pytest.fixture
def lambda_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """What Lambda and template.yaml put in a function's environment."""
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "spendwatch-test-function")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("SPENDWATCH_TABLE_NAME", "spendwatch-test")
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "spendwatch")


# moto's server stamps what it creates (an endpoint's CreationTime, ...) with its own clock. It runs this far behind
# the real one, so what a test creates has existed through any recent window a command reads: the CLI itself runs on
# the real clock and refuses any window that has not ended. Datapoints and ledger items keep the timestamps sent.
MOTO_SERVER_CLOCK_BEHIND = timedelta(days=2)
_MOTO_SERVER = """
import sys
from datetime import datetime

import time_machine

time_machine.travel(datetime.fromisoformat(sys.argv[2]), tick=True).start()
from moto.server import main  # the moto_server command

main(["--host", "127.0.0.1", "--port", sys.argv[1]])
"""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _accepts(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="module")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """moto's server (the ``moto[server]`` extra), a separate process on 127.0.0.1 with a fresh, empty state for
    the module, its clock MOTO_SERVER_CLOCK_BEHIND behind: yields its URL, and stops it afterwards."""
    log_path = tmp_path_factory.mktemp("moto-server") / "server.log"
    for _attempt in range(3):  # another process may take the free port first
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        clock = (datetime.now(UTC) - MOTO_SERVER_CLOCK_BEHIND).isoformat()
        with log_path.open("ab") as log:
            server = subprocess.Popen(
                [sys.executable, "-c", _MOTO_SERVER, str(port), clock], stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + 30
        while server.poll() is None and time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{url}/moto-api/", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                time.sleep(0.1)
        else:
            if server.poll() is None:
                server.kill()
                server.wait(timeout=10)
                pytest.fail(f"moto server did not answer on {url} within 30 s:\n{log_path.read_text()[-3000:]}")
            continue  # it exited: most likely the port was taken; try another
        break
    else:
        pytest.fail(f"moto server would not start:\n{log_path.read_text()[-3000:]}")
    try:
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)
        assert server.poll() is not None, "the moto server outlived its fixture"
        assert not _accepts(port), f"something still answers on {url} after the moto server stopped"
