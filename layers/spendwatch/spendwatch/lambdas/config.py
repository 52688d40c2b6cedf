"""Each Lambda's environment as a frozen, validated value: a bad variable fails the
invocation with an error naming it, before anything is read or written."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from spendwatch.core import metricnames as mn
from spendwatch.core.accounts import DEFAULT_ROLE_NAME, ROLE_NAME, check_external_id, parse_regions
from spendwatch.core.errors import InputError
from spendwatch.core.notifications import check_topic_arn
from spendwatch.services.scan import DEFAULT_HISTORY_HOURS, DEFAULT_LOOKBACK_HOURS


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InputError(name, f"expected a whole number, got {raw!r}") from None
    if not low <= value <= high:
        raise InputError(name, f"must be between {low} and {high}, got {value}")
    return value


NAMESPACE = re.compile(r"^[A-Za-z0-9._/#:-]{1,255}$")


def _namespace(value: str) -> str:
    if value.startswith("AWS/") or not NAMESPACE.match(value):
        raise InputError(
            "SPENDWATCH_METRICS_NAMESPACE",
            f"a custom namespace (letters, digits, . _ / # : -, not starting with AWS/), got {value!r}",
        )
    return value


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw not in {"true", "false"}:
        raise InputError(name, f"expected true or false, got {raw!r}")
    return raw == "true"


@dataclass(frozen=True)
class IdleScanConfig:
    table_name: str
    region: str
    lookback_hours: int = DEFAULT_LOOKBACK_HOURS
    history_hours: int = DEFAULT_HISTORY_HOURS
    prices_parameter: str | None = None
    refresh_prices: bool = False
    namespace: str = mn.DEFAULT_NAMESPACE
    endpoint_metrics: bool = True

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> IdleScanConfig:
        env = os.environ if env is None else env
        table = env.get("SPENDWATCH_TABLE_NAME", "").strip()
        if not table:
            raise InputError("SPENDWATCH_TABLE_NAME", "required: the DynamoDB table that stores reports")
        region = (env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "").strip()
        if not region:
            raise InputError("AWS_REGION", "required: the region to scan")
        return cls(
            table_name=table,
            region=region,
            lookback_hours=_int(env, "SPENDWATCH_LOOKBACK_HOURS", DEFAULT_LOOKBACK_HOURS, 1, 24 * 63),
            history_hours=_int(env, "SPENDWATCH_HISTORY_HOURS", DEFAULT_HISTORY_HOURS, 1, 24 * 455),
            prices_parameter=env.get("SPENDWATCH_PRICES_PARAMETER", "").strip() or None,
            refresh_prices=_bool(env, "SPENDWATCH_REFRESH_PRICES", False),
            namespace=_namespace(env.get("SPENDWATCH_METRICS_NAMESPACE", "").strip() or mn.DEFAULT_NAMESPACE),
            endpoint_metrics=_bool(env, "SPENDWATCH_ENDPOINT_METRICS", True),
        )


@dataclass(frozen=True)
class CostMeterConfig:
    table_name: str
    region: str
    interval_minutes: int = 60
    backfill_hours: int = 24
    prices_parameter: str | None = None
    refresh_prices: bool = False
    namespace: str = mn.DEFAULT_NAMESPACE
    deadline_margin_s: int = 90
    settle_minutes: int = 10
    """How long after an interval ends before it is metered: CloudWatch's late datapoints."""
    settle_after_hours: int = 2
    """How long after midnight UTC the previous day is settled (its metrics final)."""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> CostMeterConfig:
        env = os.environ if env is None else env
        base = IdleScanConfig.from_env(env)
        minutes = _int(env, "SPENDWATCH_INTERVAL_MINUTES", 60, 1, 1440)
        if 1440 % minutes:
            raise InputError("SPENDWATCH_INTERVAL_MINUTES", f"must divide a day into whole intervals, got {minutes}")
        return cls(
            table_name=base.table_name,
            region=base.region,
            interval_minutes=minutes,
            backfill_hours=_int(env, "SPENDWATCH_METER_BACKFILL_HOURS", 24, 0, 24 * 14),
            prices_parameter=base.prices_parameter,
            refresh_prices=base.refresh_prices,
            namespace=base.namespace,
            deadline_margin_s=_int(env, "SPENDWATCH_DEADLINE_MARGIN_SECONDS", 90, 5, 600),
            settle_minutes=_int(env, "SPENDWATCH_METER_SETTLE_MINUTES", 10, 0, 180),
            settle_after_hours=_int(env, "SPENDWATCH_SETTLE_AFTER_HOURS", 2, 0, 23),
        )


@dataclass(frozen=True)
class NotifierConfig:
    table_name: str
    region: str
    topic_arn: str
    budgets_parameter: str | None = None
    thresholds_pct: tuple[int, ...] | None = None
    namespace: str = mn.DEFAULT_NAMESPACE

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> NotifierConfig:
        from spendwatch.core.budgets import parse_thresholds

        env = os.environ if env is None else env
        base = IdleScanConfig.from_env(env)
        topic = check_topic_arn(env.get("SPENDWATCH_TOPIC_ARN", "").strip(), "SPENDWATCH_TOPIC_ARN")
        thresholds = env.get("SPENDWATCH_BUDGET_THRESHOLDS", "").strip()
        return cls(
            table_name=base.table_name,
            region=base.region,
            topic_arn=topic,
            budgets_parameter=env.get("SPENDWATCH_BUDGETS_PARAMETER", "").strip() or None,
            thresholds_pct=parse_thresholds(thresholds, "SPENDWATCH_BUDGET_THRESHOLDS") if thresholds else None,
            namespace=base.namespace,
        )


def member_external_id(env: Mapping[str, str] | None = None) -> str | None:
    """Organization mode: the external id the member role's trust requires."""
    env = os.environ if env is None else env
    value = env.get("SPENDWATCH_MEMBER_EXTERNAL_ID", "").strip()
    return check_external_id(value, "SPENDWATCH_MEMBER_EXTERNAL_ID") if value else None


@dataclass(frozen=True)
class TargetsConfig:
    """The fan-out's targets function: which accounts and regions to watch."""

    table_name: str
    region: str
    accounts_parameter: str | None = None
    regions: tuple[str, ...] = ()
    role_name: str = DEFAULT_ROLE_NAME
    namespace: str = mn.DEFAULT_NAMESPACE

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> TargetsConfig:
        env = os.environ if env is None else env
        region = (env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "").strip()
        if not region:
            raise InputError("AWS_REGION", "required: the central region")
        role = env.get("SPENDWATCH_MEMBER_ROLE_NAME", "").strip() or DEFAULT_ROLE_NAME
        if not ROLE_NAME.match(role):
            raise InputError("SPENDWATCH_MEMBER_ROLE_NAME", f"not an IAM role name: {role!r}")
        return cls(
            table_name=env.get("SPENDWATCH_TABLE_NAME", "").strip(),
            region=region,
            accounts_parameter=env.get("SPENDWATCH_ACCOUNTS_PARAMETER", "").strip() or None,
            regions=parse_regions(env.get("SPENDWATCH_REGIONS", ""), "SPENDWATCH_REGIONS") or (region,),
            role_name=role,
            namespace=_namespace(env.get("SPENDWATCH_METRICS_NAMESPACE", "").strip() or mn.DEFAULT_NAMESPACE),
        )


REMEDIATION_MODES = ("report", "apply")


@dataclass(frozen=True)
class RemediationConfig:
    """The remediation function's settings (template parameters ``Remediation`` and
    ``RemediationIdleNights``): it acts only when the mode is ``apply``, and only on
    resources idle at least ``idle_nights`` nights."""

    table_name: str
    region: str
    mode: str = "report"
    idle_nights: int = 7
    namespace: str = mn.DEFAULT_NAMESPACE

    @property
    def apply(self) -> bool:
        return self.mode == "apply"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> RemediationConfig:
        env = os.environ if env is None else env
        base = IdleScanConfig.from_env(env)
        mode = env.get("SPENDWATCH_REMEDIATION", "").strip() or "report"
        if mode not in REMEDIATION_MODES:
            raise InputError("SPENDWATCH_REMEDIATION", f"expected report or apply, got {mode!r}")
        return cls(
            table_name=base.table_name,
            region=base.region,
            mode=mode,
            idle_nights=_int(env, "SPENDWATCH_REMEDIATION_IDLE_NIGHTS", 7, 1, 400),
            namespace=base.namespace,
        )
