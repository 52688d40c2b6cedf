"""The rooms the design depends on, checked on the source itself.

``spendwatch/core`` is pure (values in, records out: no boto3, botocore, moto, emulator, clock
or environment); ``spendwatch/services`` compose core and adapters; ``spendwatch/aws`` is the
only room that talks to AWS; ``spendwatch/lambdas`` and ``spendwatch/cli`` are the entry
points. The emulated AWS is the ``spendwatch_emulator`` package beside ``spendwatch``: only the
CLI's ``--fleet`` wiring reaches it, and the built layer does not contain it.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from tests.conftest import REPO

PACKAGE_ROOT = REPO / "layers" / "spendwatch"
PACKAGE = PACKAGE_ROOT / "spendwatch"
LAYER = REPO / ".aws-sam" / "build" / "SpendwatchLayer" / "python"
EMULATOR = "spendwatch_emulator"
FLEET_WIRING = "spendwatch/cli/fleet.py"
NOT_IN_CORE = {"boto3", "botocore", "moto", EMULATOR, "os", "time", "random", "click", "rich"}
CLOCK_CALLS = {"now", "utcnow", "today", "time", "monotonic", "perf_counter", "getenv"}
LAMBDA_ROOMS = ("core", "services", "aws", "lambdas")
CLI_ONLY = {"click", "rich", "duckdb", "matplotlib"}  # the cli extra: not in the Lambda layer


def imports_of(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def clock_reads(path: Path) -> list[str]:
    """Calls that read the clock or the environment: ``datetime.now()``, ``time.time()``, ..."""
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in CLOCK_CALLS:
            out.append(f"{path.name}:{node.lineno} .{node.func.attr}()")
        if isinstance(node, ast.Attribute) and node.attr == "environ":
            out.append(f"{path.name}:{node.lineno} .environ")
    return out


def violations(root: Path) -> list[str]:
    """Every broken rule in the package tree under ``root`` (which holds ``spendwatch/``)."""
    found: list[str] = []
    package = root / "spendwatch"
    for path in sorted(package.rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        room = path.relative_to(package).parts[0] if len(path.relative_to(package).parts) > 1 else ""
        imported = imports_of(path)
        tops = {i.split(".")[0] for i in imported}
        if room == "core":
            for name in sorted(NOT_IN_CORE & tops):
                found.append(f"{rel}: core imports {name}")
            for name in sorted(i for i in imported if i.startswith(("spendwatch.aws", "spendwatch.services", "spendwatch.cli"))):
                found.append(f"{rel}: core imports {name}")
            found.extend(f"{rel}: core reads the clock or environment: {c}" for c in clock_reads(path))
        if EMULATOR in tops and rel != FLEET_WIRING:
            found.append(f"{rel}: imports the emulated AWS (only {FLEET_WIRING} may)")
        if "moto" in tops:
            found.append(f"{rel}: imports moto")
        if room in LAMBDA_ROOMS and CLI_ONLY & tops:
            found.append(f"{rel}: the Lambda code path imports {sorted(CLI_ONLY & tops)}")
        if room in ("core", "aws") and any(i.startswith(("spendwatch.services", "spendwatch.lambdas")) for i in imported):
            found.append(f"{rel}: {room} imports a service or a Lambda entry")
    return found


def test_the_package_keeps_its_rooms() -> None:
    assert violations(PACKAGE_ROOT) == []


@pytest.mark.parametrize(
    ("module", "source", "expected"),
    [
        ("core/money.py", "import boto3\n", "core imports boto3"),
        ("core/money.py", "from spendwatch_emulator import open_fleet\n", "imports the emulated AWS"),
        ("core/money.py", "from datetime import datetime\nNOW = datetime.now()\n", "reads the clock"),
        ("core/money.py", "import os\n", "core imports os"),
        ("aws/sagemaker.py", "from spendwatch_emulator.emulator import EmulatedAws\n", "imports the emulated AWS"),
        ("services/scan.py", "import moto\n", "imports moto"),
        ("lambdas/handlers.py", "import click\n", "Lambda code path imports"),
        ("services/meter.py", "import duckdb\n", "Lambda code path imports"),
    ],
)
def test_a_deliberate_violation_is_caught(tmp_path: Path, module: str, source: str, expected: str) -> None:
    target = tmp_path / "spendwatch" / module
    target.parent.mkdir(parents=True)
    target.write_text(source)
    assert any(expected in v for v in violations(tmp_path)), violations(tmp_path)


def test_the_fleet_wiring_imports_the_emulator_only_when_a_fleet_is_given() -> None:
    """The import sits inside the function, so a real-account run never loads moto."""
    tree = ast.parse((PACKAGE_ROOT / FLEET_WIRING).read_text())
    imports = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
    top_level = {n.module if isinstance(n, ast.ImportFrom) else n.names[0].name for n in imports}
    assert not any(str(m).startswith(EMULATOR) for m in top_level)


def test_the_layer_build_copies_only_the_product_package() -> None:
    makefile = (PACKAGE_ROOT / "Makefile").read_text()
    copies = re.findall(r"^\s*cp -R (\S+)", makefile, re.M)
    assert copies == ["spendwatch"], copies


def test_the_built_layer_holds_no_emulator() -> None:
    """``make test`` builds before pytest; a bare pytest run without a build skips this."""
    if not LAYER.is_dir():
        pytest.skip("no built layer: run make build")
    assert (LAYER / "spendwatch" / "core" / "metering.py").is_file()
    assert not (LAYER / EMULATOR).exists()
    assert violations(LAYER) == []  # what shipped keeps the rooms too: no moto, the emulator only behind --fleet


def test_handlers_are_thin_and_hold_no_boto3() -> None:
    for app in (REPO / "functions").glob("*/app.py"):
        assert "boto3" not in {i.split(".")[0] for i in imports_of(app)}
        assert len(app.read_text().splitlines()) < 60


def test_nothing_reads_the_shared_folder_beside_the_repo() -> None:
    for path in [*PACKAGE_ROOT.rglob("*.py"), *(REPO / "tests").rglob("*.py"), *(REPO / "functions").rglob("*.py")]:
        if path.name == "test_architecture.py":
            continue
        assert "../shared" not in path.read_text(), path
