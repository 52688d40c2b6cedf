"""SSM Parameter Store adapter: reads the price overrides and budgets parameters (cached 5
minutes across warm Lambda invocations by Powertools)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parameters import SSMProvider
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

from spendwatch.core.errors import InputError

IAM_ACTIONS = ("ssm:GetParameter",)


def read_parameter(client: Any, name: str, what: str, max_age_s: int = 300) -> str:
    """The value of parameter ``name``; ``what`` names the setting it comes from in errors
    (``--prices-parameter``, ``SPENDWATCH_BUDGETS_PARAMETER``...)."""
    try:
        value = SSMProvider(boto3_client=client).get(name, max_age=max_age_s)
    except GetParameterError as exc:
        raise InputError(what, f"cannot read SSM parameter {name!r}: {exc}") from None
    return str(value)
