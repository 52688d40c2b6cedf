"""Check that requirements.txt pins the SpendwatchLayer's complete dependency closure.

The layer is installed with ``pip install --no-deps`` (see Makefile), so a dependency that is missing from
requirements.txt would only show up as an ImportError inside Lambda. This resolves requirements.txt *with*
dependencies for the Lambda platform (CPython 3.13, manylinux2014_aarch64, wheels only) and fails if the resolution
needs a package that is neither pinned in requirements.txt nor provided by the Lambda python runtime, or if the
pins conflict (pip's resolver then fails on its own).

Usage: python3 check_requirements.py [requirements.txt]   (needs PyPI; exits 0 when complete)
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

# Shipped by the Lambda python3.13 runtime (boto3 and its dependencies); deliberately kept out of the layer.
RUNTIME_PROVIDED = frozenset({"boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six", "urllib3"})

PLATFORM_ARGS = [
    "--platform",
    "manylinux2014_aarch64",
    "--implementation",
    "cp",
    "--python-version",
    "3.13",
    "--abi",
    "cp313",
    "--only-binary=:all:",
]

_PIN = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*==\s*([^\s;#]+)")


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def read_pins(path: Path) -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        stripped = line.split("#", 1)[0].strip()
        if not stripped:
            continue
        match = _PIN.match(stripped)
        if match is None:
            raise SystemExit(f"{path}: not an exact '==' pin: {line!r}")
        pins[_normalise(match.group(1))] = match.group(2)
    return pins


def resolve(path: Path) -> dict[str, str]:
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--disable-pip-version-check",
        "--dry-run",
        "--ignore-installed",
        "--quiet",
        "--report",
        "-",
        *PLATFORM_ARGS,
        "-r",
        str(path),
    ]
    # Some pips (23.2, for one) take the platform options only together with --target, even for a dry run.
    with tempfile.TemporaryDirectory() as target:
        # The command is this interpreter's pip with fixed arguments and a path we were given: nothing untrusted.
        proc = subprocess.run([*cmd, "--target", target], capture_output=True, text=True, check=False)  # noqa: S603
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"pip could not resolve {path} for cp313/aarch64 (exit {proc.returncode})")
    report = json.loads(proc.stdout)
    return {_normalise(item["metadata"]["name"]): item["metadata"]["version"] for item in report["install"]}


def main(argv: list[str]) -> int:
    path = Path(argv[1] if len(argv) > 1 else Path(__file__).with_name("requirements.txt"))
    pins = read_pins(path)
    resolved = resolve(path)
    problems = [
        f"  {name}=={version} is needed but not pinned in {path.name}"
        for name, version in sorted(resolved.items())
        if name not in pins and name not in RUNTIME_PROVIDED
    ]
    problems += [
        f"  {name} is pinned but the runtime provides it; remove it from {path.name}"
        for name in sorted(pins)
        if name in RUNTIME_PROVIDED
    ]
    if problems:
        sys.stderr.write("\n".join([f"{path} is not the layer's complete dependency closure:", *problems, ""]))
        return 1
    sys.stdout.write(f"{path}: {len(pins)} pins form the complete cp313/aarch64 closure (runtime provides the rest)\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
