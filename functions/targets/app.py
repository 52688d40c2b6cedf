"""Organization fan-out (OrganizationMode on): FanOutStateMachine -> ``list``: the run's
(account, region) targets; ``report``: the targets that failed, logged by name and counted
(EMF metric FailedTargets), the run's summary returned."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from spendwatch.lambdas import handlers
from spendwatch.lambdas.config import TargetsConfig
from spendwatch.lambdas.events import FanOutEvent, parse_event

logger = Logger()
tracer = Tracer()


@logger.inject_lambda_context(log_event=True)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handlers.targets(parse_event(event, FanOutEvent), TargetsConfig.from_env(), logger)
