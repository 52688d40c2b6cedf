"""The events spendwatch's functions accept, parsed with Powertools' parser. A malformed
event fails with an error naming the field, before anything is read or written."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, TypeVar

from aws_lambda_powertools.utilities.parser import parse
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from spendwatch.core.accounts import Target
from spendwatch.core.errors import InputError
from spendwatch.core.timestamps import floor_minute, parse_utc


class FanOutTarget(BaseModel):
    """One (account, region) of an organization, as the fan-out state machine passes it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    account_id: str = Field(pattern=r"^\d{12}$")
    region: str = Field(pattern=r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$")
    role_arn: str | None = Field(default=None, pattern=r"^arn:aws[a-z-]*:iam::\d{12}:role/[A-Za-z0-9_+=,.@/-]{1,512}$")

    @model_validator(mode="after")
    def _own_role(self) -> FanOutTarget:
        if self.role_arn is not None and f":iam::{self.account_id}:" not in self.role_arn:
            raise ValueError(f"role_arn {self.role_arn} is not a role of account {self.account_id}")
        return self

    def to_target(self) -> Target:
        return Target(self.account_id, self.region, self.role_arn)


class ScheduledScan(BaseModel):
    """What EventBridge Scheduler sends (see template.yaml): ``scheduled_time`` is
    ``<aws.scheduler.scheduled-time>``, so a retried delivery scans the same instant.
    A plain EventBridge scheduled-rule event (``time``) is accepted too."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    source: str = "spendwatch.schedule"
    task: Literal["idle-scan"] = "idle-scan"
    scheduled_time: datetime
    lookback_hours: int | None = Field(default=None, ge=1, le=24 * 63)
    target: FanOutTarget | None = None
    """Organization mode: the member account region this invocation reads (the fan-out
    state machine's item); absent, the function's own account and region."""

    @model_validator(mode="before")
    @classmethod
    def _rule_event(cls, data: Any) -> Any:
        if isinstance(data, dict) and "scheduled_time" not in data and "time" in data:
            return {**{k: v for k, v in data.items() if k not in ("source",)}, "scheduled_time": data["time"]}
        return data

    @field_validator("scheduled_time", mode="before")
    @classmethod
    def _utc(cls, value: Any) -> datetime:
        if not isinstance(value, str):
            raise ValueError(f"expected an ISO-8601 UTC timestamp string, got {value!r}")
        try:
            return floor_minute(parse_utc(value, "scheduled_time"))
        except InputError as exc:
            raise ValueError(exc.message) from None


class ScheduledMeter(ScheduledScan):
    """The hourly meter's schedule event: only the scheduled instant matters."""

    task: Literal["meter", "cost-meter"] = "meter"  # type: ignore[assignment]


class ScheduledNotify(ScheduledScan):
    """The nightly notifier's schedule event."""

    task: Literal["notify"] = "notify"  # type: ignore[assignment]


class ScheduledRemediation(ScheduledScan):
    """The remediation function's schedule event (after the nightly scan): it acts on this
    account and region's latest stored report, never on a fan-out target."""

    task: Literal["remediate"] = "remediate"  # type: ignore[assignment]

    @field_validator("target", mode="after")
    @classmethod
    def _own_account(cls, value: FanOutTarget | None) -> FanOutTarget | None:
        if value is not None:
            raise ValueError("remediation acts in its own account and region only: no target")
        return value


class FanOutEvent(ScheduledScan):
    """The fan-out state machine's calls to the targets function: ``list`` the (account,
    region) targets of a task, or ``report`` what each target's invocation gave."""

    source: str = "spendwatch.fanout"
    task: Literal["idle-scan", "cost-meter", "notify"]  # type: ignore[assignment]
    action: Literal["list", "report"]
    results: list[dict[str, Any]] = Field(default_factory=list)


E = TypeVar("E", bound=ScheduledScan)


def parse_event(event: Any, model: type[E]) -> E:
    if not isinstance(event, dict):
        raise InputError("event", f"expected a JSON object, got {type(event).__name__}")
    try:
        return parse(event=event, model=model)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(p) for p in error["loc"]) or "event"
        raise InputError(f"event.{where}", str(error["msg"]).removeprefix("Value error, ")) from None
