"""Hourly cost meter: EventBridge Scheduler -> meter every closed interval since the last
one completed into the DynamoDB ledger, EMF metrics on stdout, a summary returned."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from spendwatch.lambdas import handlers
from spendwatch.lambdas.config import CostMeterConfig
from spendwatch.lambdas.events import ScheduledMeter, parse_event

logger = Logger()
tracer = Tracer()


@logger.inject_lambda_context(log_event=True)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    config = CostMeterConfig.from_env()
    meter_event = parse_event(event, ScheduledMeter)
    return handlers.cost_meter(meter_event, config, context.get_remaining_time_in_millis, logger)
