"""Boundaries the design depends on, checked on the source itself."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import REPO

PACKAGE = REPO / "layers" / "spendwatch" / "spendwatch"
CORE = ["idle.py", "inventory.py", "money.py", "pricing.py", "usage.py", "timestamps.py", "metricnames.py", "errors.py"]


def imports_of(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def test_core_never_imports_boto3_or_adapters() -> None:
    for name in CORE:
        imported = imports_of(PACKAGE / name)
        assert not {"boto3", "botocore", "moto"} & {i.split(".")[0] for i in imported}, name
        assert not any(i.startswith("spendwatch.aws") or i == "spendwatch.emulator" for i in imported), name


def test_only_the_emulator_imports_moto() -> None:
    for path in PACKAGE.rglob("*.py"):
        if path.name != "emulator.py":
            assert "moto" not in {i.split(".")[0] for i in imports_of(path)}, path


def test_lambda_code_path_does_not_need_cli_libraries() -> None:
    """The layer ships without click and rich: nothing the handlers import may need them."""
    for name in ["handlers.py", "scan.py", "emf.py", "config.py", "events.py", "emulator.py", *CORE]:
        assert not {"click", "rich"} & {i.split(".")[0] for i in imports_of(PACKAGE / name)}, name


def test_handlers_are_thin_and_hold_no_boto3() -> None:
    for app in (REPO / "functions").glob("*/app.py"):
        assert "boto3" not in {i.split(".")[0] for i in imports_of(app)}
        assert len(app.read_text().splitlines()) < 60


def test_nothing_reads_the_shared_folder_beside_the_repo() -> None:
    for path in [*PACKAGE.rglob("*.py"), *(REPO / "tests").rglob("*.py"), *(REPO / "functions").rglob("*.py")]:
        if path.name == "test_architecture.py":
            continue
        assert "../shared" not in path.read_text(), path
