"""Nightly notifier: EventBridge Scheduler -> the latest idle report and budget alerts
published to SNS (email, and Slack/Teams through AWS Chatbot)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from spendwatch.lambdas import handlers
from spendwatch.lambdas.config import NotifierConfig
from spendwatch.lambdas.events import ScheduledNotify, parse_event

logger = Logger()
tracer = Tracer()


@logger.inject_lambda_context(log_event=True)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    config = NotifierConfig.from_env()
    notify_event = parse_event(event, ScheduledNotify)
    return handlers.notifier(notify_event, config, logger)
