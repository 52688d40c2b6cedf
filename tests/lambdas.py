"""Running the real Lambda handlers in tests: a cold start per test, the default boto3
session routed through the emulated AWS, the table created from template.yaml."""

from __future__ import annotations

import importlib.util
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
import time_machine
from aws_lambda_powertools.logging.constants import LOGGER_ATTRIBUTE_POWERTOOLS_HANDLER, LOGGER_ATTRIBUTE_PRECONFIGURED

from spendwatch_emulator.emulator import EmulatedAws
from spendwatch_emulator.fleet import parse_fleet
from tests.conftest import REPO
from tests.template import create_table

TABLE = "spendwatch-test"


class Context:
    function_name = "spendwatch-test-function"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:spendwatch-test-function"
    aws_request_id = "test-request"

    def __init__(self, remaining_ms: int = 900_000) -> None:
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def sample_event(function: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((REPO / "events" / f"{function}.json").read_text())
    return loaded


def load_handler(function: str) -> Any:
    # A fresh module per call, as a cold start; Powertools' logger is process-wide and would
    # keep writing to the stdout an earlier test captured and closed.
    service_logger = logging.getLogger("spendwatch")
    service_logger.handlers.clear()
    for attribute in (LOGGER_ATTRIBUTE_PRECONFIGURED, LOGGER_ATTRIBUTE_POWERTOOLS_HANDLER):
        if hasattr(service_logger, attribute):
            delattr(service_logger, attribute)
    spec = importlib.util.spec_from_file_location(f"{function}_app", REPO / "functions" / function / "app.py")
    assert spec
    assert spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.handler


def run_in(doc: dict[str, Any]) -> Iterator[EmulatedAws]:
    with EmulatedAws(parse_fleet(doc)) as emulator:
        create_table(emulator.client("dynamodb"), TABLE)
        boto3.setup_default_session(region_name="us-east-1")
        emulator.attach(boto3.DEFAULT_SESSION)  # the handler's clients go through the emulator
        try:
            yield emulator
        finally:
            boto3.DEFAULT_SESSION = None


@contextmanager
def wall_clock(when: str) -> Iterator[None]:
    """The real clock, as a Lambda reads it, stopped at ``when`` (the handlers check event
    times against it and CloudWatch takes EMF timestamps only two weeks back)."""
    with time_machine.travel(when, tick=False):
        yield


def emf_documents(stdout: str) -> list[dict[str, Any]]:
    docs = [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
    return [d for d in docs if "_aws" in d]
