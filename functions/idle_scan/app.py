"""Nightly idle scan: EventBridge Scheduler -> scan every endpoint and inference component
-> report stored in DynamoDB, EMF metrics on stdout, a summary returned."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from spendwatch.lambdas import handlers
from spendwatch.lambdas.config import IdleScanConfig
from spendwatch.lambdas.events import ScheduledScan, parse_event

logger = Logger()
tracer = Tracer()


@logger.inject_lambda_context(log_event=True)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    config = IdleScanConfig.from_env()
    scan_event = parse_event(event, ScheduledScan)
    return handlers.idle_scan(scan_event, config, logger)
