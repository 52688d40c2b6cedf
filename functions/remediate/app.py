"""Nightly remediation, after the idle scan (created only when the stack's Remediation is
apply): plan from the stored report, act on what is idle enough, each action once."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from spendwatch.lambdas import handlers
from spendwatch.lambdas.config import RemediationConfig
from spendwatch.lambdas.events import ScheduledRemediation, parse_event

logger = Logger()
tracer = Tracer()


@logger.inject_lambda_context(log_event=True)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    config = RemediationConfig.from_env()
    remediation_event = parse_event(event, ScheduledRemediation)
    return handlers.remediate(remediation_event, config, logger)
