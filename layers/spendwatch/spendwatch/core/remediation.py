"""Acting on what the idle scan found (pure): which action each idle resource gets, when it
is due, what must be saved to undo it, and the action log's item values.

The plan is made from a scan report in the CLI contract's JSON (``ScanReport.to_json``, or
the report the nightly Lambda stored), ``now`` and the grace in nights, plus what the action
log already holds. One idle resource gets at most one action:

* an idle inference component with copies: ``scale-component-to-zero`` (its copy count to 0,
  and, where Application Auto Scaling manages it, the scalable target's minimum to 0);
* an idle endpoint that hosts inference components, once nothing stays placed on it (every
  component has no copies, or is scaled to zero by the same plan):
  ``enable-endpoint-scale-to-zero`` (managed instance scaling down to 0 instances);
* an idle endpoint without components (real-time, async): ``delete-endpoint``, after what
  brings it back is saved. A serverless endpoint costs nothing idle: deleting it saves nothing,
  so it is left alone unless its tag ``spendwatch:action`` says ``delete``.

Never touched: excluded (``spendwatch:ignore``), new, active and not-in-service resources,
a resource idle for fewer than the grace's nights, and one with nothing left to do (a
component without copies, an endpoint without instances or already scaling to zero). ``spendwatch:action`` (``none``,
``scale-to-zero``, ``delete``) overrides per resource (a component inherits its endpoint's
``none``); a value that is not one of those, or that the resource cannot take, is a finding
and the resource is left alone. ``spendwatch:idle-days`` (a positive whole number, a
component's own or else its endpoint's) lengthens the grace.

"Idle for N nights": the scan's ``idle_since`` is at least N days before ``now``; a resource
with no invocation known has been quiet since its creation or the start of the history the
scan looked at, whichever is later (a quiet that the history cannot show is not assumed), and
that must be N days before ``now``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from spendwatch.core.errors import InputError
from spendwatch.core.inventory import IGNORE_TAG, is_ignored
from spendwatch.core.money import ZERO, format_money
from spendwatch.core.timestamps import format_utc, parse_utc
from spendwatch.core.wording import count

ACTION_TAG = "spendwatch:action"
IDLE_DAYS_TAG = "spendwatch:idle-days"
DEFAULT_MIN_IDLE_NIGHTS = 7
MAX_IDLE_NIGHTS = 400
HOURS_PER_MONTH = Decimal(730)
ENDPOINT, COMPONENT = "endpoint", "inference-component"
STALE_CLAIM = timedelta(minutes=15)
"""A ``planned`` action older than this whose run never finished may be taken over."""


class ActionKind(StrEnum):
    SCALE_COMPONENT_TO_ZERO = "scale-component-to-zero"
    ENABLE_ENDPOINT_SCALE_TO_ZERO = "enable-endpoint-scale-to-zero"
    DELETE_ENDPOINT = "delete-endpoint"


class Choice(StrEnum):
    """The values of the ``spendwatch:action`` tag."""

    NONE = "none"
    SCALE_TO_ZERO = "scale-to-zero"
    DELETE = "delete"


class ActionStatus(StrEnum):
    """An action item's status; every change is appended to its history, none rewritten."""

    PLANNED = "planned"  # claimed (written before anything is done)
    DONE = "done"
    FAILED = "failed"
    SKIPPED = "skipped"  # the check just before acting found it in use, or changed
    RESTORING = "restoring"
    RESTORED = "restored"
    RESTORE_FAILED = "restore-failed"


OPEN = frozenset({ActionStatus.PLANNED, ActionStatus.DONE, ActionStatus.RESTORING, ActionStatus.RESTORE_FAILED})
"""Statuses that keep a resource from a new action: one is under way or in force."""


def monthly(hourly: Decimal | None) -> Decimal | None:
    """A saving per month: hourly cost x 730."""
    return None if hourly is None else hourly * HOURS_PER_MONTH


def _money(value: Decimal | None) -> str | None:
    return None if value is None else format_money(value)


class _Acted:
    """What a planned action and a logged one both say of their resource."""

    endpoint_name: str
    inference_component_name: str | None
    hourly_cost_usd: Decimal | None

    @property
    def resource_type(self) -> str:
        return COMPONENT if self.inference_component_name else ENDPOINT

    @property
    def name(self) -> str:
        return self.inference_component_name or self.endpoint_name

    @property
    def monthly_saving_usd(self) -> Decimal | None:
        return monthly(self.hourly_cost_usd)


@dataclass(frozen=True, kw_only=True)
class PlannedAction(_Acted):
    kind: ActionKind
    endpoint_name: str
    inference_component_name: str | None = None
    reason: str
    hourly_cost_usd: Decimal | None
    """What acting saves per hour (None: the price is unknown)."""
    idle_since: datetime | None
    episode: str
    """The idleness this action answers: ``idle_since``, or ``created:<time>`` when no
    invocation is known. A replay or a second run keys the same action the same way."""
    quiet_since: datetime
    """Since when the resource is known to be quiet (``idle_since``, or the lower bound)."""
    owner: str | None = None

    @property
    def key(self) -> str:
        """The action item's sort key: the resource, the action, the idleness episode."""
        return action_key(self.resource_type, self.name, self.kind, self.episode)

    def to_json(self, status: str = "planned", detail: str | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "action": self.kind.value,
            "resource_type": self.resource_type,
            "endpoint_name": self.endpoint_name,
            "inference_component_name": self.inference_component_name,
            "reason": self.reason,
            "hourly_cost_usd": _money(self.hourly_cost_usd),
            "monthly_saving_usd": _money(self.monthly_saving_usd),
            "idle_since": format_utc(self.idle_since) if self.idle_since else None,
            "owner": self.owner,
            "status": status,
        }
        if detail:
            out["detail"] = detail
        return out


@dataclass(frozen=True)
class Skipped:
    """An idle resource that gets no action, and why."""

    endpoint_name: str
    inference_component_name: str | None
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {
            "resource_type": COMPONENT if self.inference_component_name else ENDPOINT,
            "endpoint_name": self.endpoint_name,
            "inference_component_name": self.inference_component_name,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class TagFinding:
    """A remediation tag that cannot be honoured: the resource is left alone."""

    endpoint_name: str
    inference_component_name: str | None
    tag: str
    message: str

    @property
    def name(self) -> str:
        return self.inference_component_name or self.endpoint_name

    def text(self) -> str:
        kind = "inference component" if self.inference_component_name else "endpoint"
        return f"{kind} {self.name}: tag {self.tag}: {self.message} (left alone)"

    def to_json(self) -> dict[str, Any]:
        return {
            "resource_type": COMPONENT if self.inference_component_name else ENDPOINT,
            "endpoint_name": self.endpoint_name,
            "inference_component_name": self.inference_component_name,
            "tag": self.tag,
            "message": self.message,
        }


@dataclass(frozen=True)
class Plan:
    planned_at: datetime
    report_scanned_at: datetime
    min_idle_nights: int
    actions: tuple[PlannedAction, ...]
    skipped: tuple[Skipped, ...]
    findings: tuple[TagFinding, ...]


# -- the action log's items ----------------------------------------------------------------------


def action_key(resource_type: str, name: str, kind: ActionKind | str, episode: str) -> str:
    return f"{resource_type}#{name}#{kind}#{episode}"


def actions_pk(place: str) -> str:
    return f"ACTION#{place}"


@dataclass(frozen=True)
class ActionRecord(_Acted):
    """An action as the log holds it (``aws.actions``): what was planned, its statuses in order
    and what restore needs."""

    key: str
    kind: ActionKind
    endpoint_name: str
    inference_component_name: str | None
    status: ActionStatus
    history: tuple[dict[str, str], ...]
    planned_at: datetime
    report_at: datetime
    episode: str
    reason: str = ""
    owner: str | None = None
    hourly_cost_usd: Decimal | None = None
    claim: str = ""
    saved: dict[str, Any] | None = None
    done_at: datetime | None = None
    detail: str = ""

    def at(self, status: ActionStatus) -> datetime | None:
        """When the action last reached ``status``."""
        times = [parse_utc(h["at"], "history.at") for h in self.history if h.get("status") == status.value]
        return max(times) if times else None


def to_item(action: PlannedAction, place: str, planned_at: datetime, report_at: datetime, claim: str) -> dict[str, Any]:
    """The ``planned`` item (plain values; the adapter serializes it), written before acting."""
    item: dict[str, Any] = {
        "pk": actions_pk(place),
        "sk": action.key,
        "type": "remediation-action",
        "kind": action.kind.value,
        "endpoint_name": action.endpoint_name,
        "status": ActionStatus.PLANNED.value,
        "history": [history_entry(ActionStatus.PLANNED, planned_at, action.reason)],
        "planned_at": format_utc(planned_at),
        "report_at": format_utc(report_at),
        "episode": action.episode,
        "reason": action.reason,
        "claim": claim,
    }
    if action.inference_component_name:
        item["inference_component_name"] = action.inference_component_name
    if action.owner:
        item["owner"] = action.owner
    if action.hourly_cost_usd is not None:
        item["hourly_cost_usd"] = format_money(action.hourly_cost_usd)
    return item


def history_entry(status: ActionStatus, at: datetime, detail: str = "") -> dict[str, str]:
    return {"status": status.value, "at": format_utc(at), "detail": detail[:1000]}


def from_item(item: Mapping[str, Any]) -> ActionRecord:
    saved = item.get("saved")
    done = [h for h in item.get("history", []) if h.get("status") == ActionStatus.DONE.value]
    return ActionRecord(
        key=item["sk"],
        kind=ActionKind(item["kind"]),
        endpoint_name=item["endpoint_name"],
        inference_component_name=item.get("inference_component_name"),
        status=ActionStatus(item["status"]),
        history=tuple(dict(h) for h in item.get("history", [])),
        planned_at=parse_utc(item["planned_at"], "planned_at"),
        report_at=parse_utc(item["report_at"], "report_at"),
        episode=item.get("episode", ""),
        reason=item.get("reason", ""),
        owner=item.get("owner"),
        hourly_cost_usd=Decimal(item["hourly_cost_usd"]) if item.get("hourly_cost_usd") is not None else None,
        claim=item.get("claim", ""),
        saved=json.loads(saved) if isinstance(saved, str) and saved else None,
        done_at=parse_utc(done[-1]["at"], "history.at") if done else None,
        detail=(item.get("history") or [{}])[-1].get("detail", ""),
    )


# -- what restore needs -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SavedComponent:
    """A component before it was scaled to zero."""

    copies: int
    scaling: dict[str, int] | None = None
    """The Application Auto Scaling target's MinCapacity and MaxCapacity, when it had one."""

    def to_dict(self) -> dict[str, Any]:
        return {"type": COMPONENT, "copies": self.copies, "scaling": self.scaling}


@dataclass(frozen=True)
class SavedEndpoint:
    """An endpoint before it was changed or deleted: its endpoint config (by name, and whole:
    the CreateEndpointConfig request that makes it again), tags and each variant's instance
    count; for scale-to-zero, the endpoint config spendwatch made for it."""

    config_name: str
    config: dict[str, Any]
    tags: dict[str, str]
    variant_counts: dict[str, int]
    endpoint_arn: str = ""
    scale_to_zero_config: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": ENDPOINT,
            "config_name": self.config_name,
            "config": self.config,
            "tags": dict(sorted(self.tags.items())),
            "variant_counts": dict(sorted(self.variant_counts.items())),
            "endpoint_arn": self.endpoint_arn,
            "scale_to_zero_config": self.scale_to_zero_config,
        }


def saved_from_dict(value: Mapping[str, Any]) -> SavedComponent | SavedEndpoint:
    if value.get("type") == COMPONENT:
        scaling = value.get("scaling")
        return SavedComponent(int(value["copies"]), dict(scaling) if scaling else None)
    return SavedEndpoint(
        config_name=str(value["config_name"]),
        config=dict(value.get("config") or {}),
        tags={str(k): str(v) for k, v in (value.get("tags") or {}).items()},
        variant_counts={str(k): int(v) for k, v in (value.get("variant_counts") or {}).items()},
        endpoint_arn=str(value.get("endpoint_arn") or ""),
        scale_to_zero_config=value.get("scale_to_zero_config"),
    )


def restore_command(name: str) -> str:
    return f"spendwatch restore {name}"


# -- the plan ---------------------------------------------------------------------------------------------


def check_min_idle_nights(value: int, field_name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_IDLE_NIGHTS:
        raise InputError(field_name, f"must be a whole number of nights from 0 to {MAX_IDLE_NIGHTS}, got {value!r}")
    return value


@dataclass
class _Tags:
    choice: Choice | None = None
    idle_days: int | None = None
    bad: list[TagFinding] = field(default_factory=list)


def _read_tags(tags: Mapping[str, str], endpoint_name: str, component_name: str | None) -> _Tags:
    found = _Tags()
    raw = tags.get(ACTION_TAG)
    if raw is not None:
        value = raw.strip().lower()
        try:
            found.choice = Choice(value)
        except ValueError:
            found.bad.append(
                TagFinding(
                    endpoint_name,
                    component_name,
                    ACTION_TAG,
                    f"{raw!r} is not one of {', '.join(c.value for c in Choice)}",
                )
            )
    raw = tags.get(IDLE_DAYS_TAG)
    if raw is not None:
        text = raw.strip()
        if text.isdigit() and 1 <= int(text) <= MAX_IDLE_NIGHTS:
            found.idle_days = int(text)
        else:
            found.bad.append(
                TagFinding(
                    endpoint_name,
                    component_name,
                    IDLE_DAYS_TAG,
                    f"{raw!r} is not a whole number of days from 1 to {MAX_IDLE_NIGHTS}",
                )
            )
    return found


def _time(value: Any, field_name: str) -> datetime | None:
    return parse_utc(value, field_name) if value else None


def _quiet_since(entry: Mapping[str, Any], scanned_at: datetime, history_hours: int) -> tuple[datetime, str, bool]:
    """Since when the resource is known to be quiet, its episode key, and whether that is a
    lower bound (no invocation known)."""
    since = _time(entry.get("idle_since"), "idle_since")
    created = _time(entry.get("created_at"), "created_at") or scanned_at
    if since is not None:
        return since, format_utc(since), False
    known_from = max(created, scanned_at - timedelta(hours=history_hours)) if history_hours else created
    return known_from, f"created:{format_utc(created)}", True


def _nights_text(days: float) -> str:
    return f"{days:.1f} days"


def plan(
    report: Mapping[str, Any],
    now: datetime,
    min_idle_nights: int = DEFAULT_MIN_IDLE_NIGHTS,
    history: Iterable[ActionRecord] = (),
    scaling_to_zero: Iterable[str] = (),
) -> Plan:
    """The actions due for the idle resources of ``report`` at ``now``.

    ``history``: the action log of the report's place; a resource with an action under way or
    in force gets none, nor one restored by hand while the same idleness lasts (it acts again
    only after new traffic). ``scaling_to_zero``: endpoints whose managed instance scaling
    already goes down to 0 instances."""
    check_min_idle_nights(min_idle_nights, "min_idle_nights")
    scanned_at = parse_utc(report["scanned_at"], "report.scanned_at")
    history_hours = int(report.get("history_hours") or 0)
    history = list(history)
    by_resource: dict[str, list[ActionRecord]] = {}
    for record in history:
        by_resource.setdefault(f"{record.resource_type}#{record.name}", []).append(record)
    already = set(scaling_to_zero)
    scaled_before = {
        r.name for r in history if r.kind is ActionKind.SCALE_COMPONENT_TO_ZERO and r.status in OPEN
    }
    actions: list[PlannedAction] = []
    skipped: list[Skipped] = []
    findings: list[TagFinding] = []
    components_of: dict[str, list[Mapping[str, Any]]] = {}
    for c in report.get("inference_components", []):
        components_of.setdefault(c["endpoint_name"], []).append(c)

    def earlier(resource_type: str, name: str, episode: str) -> str | None:
        """Why the log keeps this resource from a new action, if it does."""
        for record in sorted(by_resource.get(f"{resource_type}#{name}", []), key=lambda r: r.planned_at, reverse=True):
            if record.status in OPEN:
                when = record.at(ActionStatus.DONE) or record.planned_at
                return (
                    f"already {record.status.value}: {record.kind.value} at {format_utc(when)} "
                    f"({restore_command(name)} undoes it)"
                )
            if record.status is ActionStatus.RESTORED and record.episode == episode:
                restored = record.at(ActionStatus.RESTORED)
                return (
                    f"restored at {format_utc(restored) if restored else '?'} while idle since the same time: "
                    "acted on again only after new traffic"
                )
        return None

    def due(entry: Mapping[str, Any], grace: int) -> tuple[bool, str, str, datetime]:
        quiet, episode, lower_bound = _quiet_since(entry, scanned_at, history_hours)
        days = (now - quiet).total_seconds() / 86400
        if days < grace:
            quiet_for = (
                f"no invocation seen in the {_nights_text(max(days, 0))} the scan looked at"
                if lower_bound
                else f"idle for {_nights_text(max(days, 0))}"
            )
            return False, episode, f"{quiet_for}, fewer than {grace} nights", quiet
        said = f"no invocation seen for at least {_nights_text(days)}" if lower_bound else f"idle for {_nights_text(days)}"
        return True, episode, said, quiet

    for endpoint in report.get("endpoints", []):
        name = endpoint["endpoint_name"]
        tags = _read_tags(endpoint.get("tags") or {}, name, None)
        own_components = components_of.get(name, [])
        planned_components: list[PlannedAction] = []
        for comp in own_components:
            decided = _component(comp, endpoint, tags, min_idle_nights, due, earlier, findings, skipped)
            if decided is not None:
                planned_components.append(decided)
        actions.extend(planned_components)
        if endpoint["status"] != "idle":
            continue
        if tags.bad:
            findings.extend(tags.bad)
            continue
        grace = max(min_idle_nights, tags.idle_days or 0)
        hourly = Decimal(endpoint["hourly_cost_usd"]) if endpoint.get("hourly_cost_usd") is not None else None
        owner = endpoint.get("owner")
        if endpoint.get("hosts_inference_components"):
            if tags.choice is Choice.DELETE:
                findings.append(
                    TagFinding(name, None, ACTION_TAG, "delete is not offered for an endpoint that hosts inference components")
                )
                continue
            if tags.choice is Choice.NONE:
                skipped.append(Skipped(name, None, f"tag {ACTION_TAG}=none"))
                continue
            scaled = {a.inference_component_name for a in planned_components} | scaled_before
            kept = [
                c["inference_component_name"]
                for c in own_components
                if int(c.get("copies") or 0) > 0 and c["inference_component_name"] not in scaled
            ]
            if kept:
                skipped.append(Skipped(name, None, f"{', '.join(sorted(kept))} keeps copies placed on it"))
                continue
            if name in already:
                skipped.append(Skipped(name, None, "its managed instance scaling already goes down to 0 instances"))
                continue
            if hourly is not None and hourly <= 0:
                skipped.append(Skipped(name, None, "no instances: it costs nothing idle"))
                continue
            ok, episode, said, quiet = due(endpoint, grace)
            if not ok:
                skipped.append(Skipped(name, None, said))
                continue
            why = earlier(ENDPOINT, name, episode)
            if why:
                skipped.append(Skipped(name, None, why))
                continue
            # The components' savings are theirs: the endpoint's is what is left (no double count).
            share = sum((a.hourly_cost_usd or ZERO for a in planned_components), ZERO)
            actions.append(
                PlannedAction(
                    kind=ActionKind.ENABLE_ENDPOINT_SCALE_TO_ZERO,
                    endpoint_name=name,
                    reason=f"{said}; nothing stays placed on it",
                    hourly_cost_usd=None if hourly is None else max(hourly - share, ZERO),
                    idle_since=_time(endpoint.get("idle_since"), "idle_since"),
                    episode=episode,
                    quiet_since=quiet,
                    owner=owner,
                )
            )
            continue
        # A classic endpoint (real-time, async, serverless): deleted, after saving what brings it back.
        if tags.choice is Choice.SCALE_TO_ZERO:
            findings.append(
                TagFinding(
                    name,
                    None,
                    ACTION_TAG,
                    "scale-to-zero needs inference components: an endpoint without them can only be deleted",
                )
            )
            continue
        if tags.choice is Choice.NONE:
            skipped.append(Skipped(name, None, f"tag {ACTION_TAG}=none"))
            continue
        if endpoint.get("kind") == "serverless" and tags.choice is not Choice.DELETE:
            skipped.append(Skipped(name, None, f"serverless: it costs nothing idle (tag {ACTION_TAG}=delete to delete it)"))
            continue
        ok, episode, said, quiet = due(endpoint, grace)
        if not ok:
            skipped.append(Skipped(name, None, said))
            continue
        why = earlier(ENDPOINT, name, episode)
        if why:
            skipped.append(Skipped(name, None, why))
            continue
        actions.append(
            PlannedAction(
                kind=ActionKind.DELETE_ENDPOINT,
                endpoint_name=name,
                reason=said
                + (f"; tag {ACTION_TAG}=delete" if tags.choice is Choice.DELETE else "")
                + ("; serverless: it costs nothing idle, but nobody uses it" if endpoint.get("kind") == "serverless" else ""),
                hourly_cost_usd=hourly,
                idle_since=_time(endpoint.get("idle_since"), "idle_since"),
                episode=episode,
                quiet_since=quiet,
                owner=owner,
            )
        )
    return Plan(
        planned_at=now,
        report_scanned_at=scanned_at,
        min_idle_nights=min_idle_nights,
        actions=tuple(actions),
        skipped=tuple(skipped),
        findings=tuple(findings),
    )


def _component(
    comp: Mapping[str, Any],
    endpoint: Mapping[str, Any],
    endpoint_tags: _Tags,
    min_idle_nights: int,
    due: Callable[[Mapping[str, Any], int], tuple[bool, str, str, datetime]],
    earlier: Callable[[str, str, str], str | None],
    findings: list[TagFinding],
    skipped: list[Skipped],
) -> PlannedAction | None:
    if comp["status"] != "idle":
        return None
    endpoint_name, name = comp["endpoint_name"], comp["inference_component_name"]
    own = _read_tags(comp.get("tags") or {}, endpoint_name, name)
    if own.bad:
        findings.extend(own.bad)
        return None
    choice = own.choice or (Choice.NONE if endpoint_tags.choice is Choice.NONE else None)
    if own.idle_days is None and any(f.tag == IDLE_DAYS_TAG for f in endpoint_tags.bad):
        skipped.append(Skipped(endpoint_name, name, f"its endpoint's tag {IDLE_DAYS_TAG} is not valid"))
        return None
    if choice is Choice.DELETE:
        findings.append(
            TagFinding(endpoint_name, name, ACTION_TAG, "delete is not offered for an inference component (scale-to-zero is)")
        )
        return None
    if choice is Choice.NONE:
        where = "" if own.choice else " (its endpoint's)"
        skipped.append(Skipped(endpoint_name, name, f"tag {ACTION_TAG}=none{where}"))
        return None
    if int(comp.get("copies") or 0) <= 0:
        skipped.append(Skipped(endpoint_name, name, "no copies: it costs nothing idle"))
        return None
    grace = max(min_idle_nights, own.idle_days or endpoint_tags.idle_days or 0)
    ok, episode, said, quiet = due(comp, grace)
    if not ok:
        skipped.append(Skipped(endpoint_name, name, said))
        return None
    why = earlier(COMPONENT, name, episode)
    if why:
        skipped.append(Skipped(endpoint_name, name, why))
        return None
    hourly = Decimal(comp["hourly_cost_usd"]) if comp.get("hourly_cost_usd") is not None else None
    return PlannedAction(
        kind=ActionKind.SCALE_COMPONENT_TO_ZERO,
        endpoint_name=endpoint_name,
        inference_component_name=name,
        reason=f"{said}; {count(int(comp.get('copies') or 0), 'copy')}",
        hourly_cost_usd=hourly,
        idle_since=_time(comp.get("idle_since"), "idle_since"),
        episode=episode,
        quiet_since=quiet,
        owner=comp.get("owner"),
    )


def tags_now_forbid(
    action: PlannedAction,
    tags: Mapping[str, str],
    endpoint_tags: Mapping[str, str],
    now: datetime,
    min_idle_nights: int,
) -> str | None:
    """Why the resource's tags as they are now, read just before acting, keep it from the
    action (excluded since the scan, ``spendwatch:action`` or ``spendwatch:idle-days`` set or
    changed), or None."""
    if is_ignored(dict(tags)) or is_ignored(dict(endpoint_tags)):
        return f"tagged {IGNORE_TAG}=true since the scan"
    component = action.inference_component_name
    own = _read_tags(tags, action.endpoint_name, component)
    endpoint = _read_tags(endpoint_tags, action.endpoint_name, None) if component else own
    if own.bad or (component and endpoint.bad):
        return "; ".join(f.text() for f in own.bad + (endpoint.bad if component else []))
    choice = own.choice or (Choice.NONE if component and endpoint.choice is Choice.NONE else None)
    wanted = {
        ActionKind.SCALE_COMPONENT_TO_ZERO: (None, Choice.SCALE_TO_ZERO),
        ActionKind.ENABLE_ENDPOINT_SCALE_TO_ZERO: (None, Choice.SCALE_TO_ZERO),
        ActionKind.DELETE_ENDPOINT: (None, Choice.DELETE),
    }[action.kind]
    if choice not in wanted:
        return f"tag {ACTION_TAG}={choice.value if choice else ''} since the scan"
    grace = max(min_idle_nights, own.idle_days or (endpoint.idle_days if component else None) or 0)
    days = (now - action.quiet_since).total_seconds() / 86400
    if days < grace:
        return f"tag {IDLE_DAYS_TAG} asks for {grace} nights, idle for {_nights_text(max(days, 0))}"
    return None


def actions_between(records: Sequence[ActionRecord], after: datetime | None, until: datetime) -> list[ActionRecord]:
    """The actions done that the digest of a report scanned at ``until`` tells of: planned
    from a scan after the previous stored report's (``after``) and at most ``until``. The
    nightly run acts on the night's report, a CLI run on a scan of its own between two
    nightly ones: each action is told of in exactly one digest."""
    return sorted(
        (
            r
            for r in records
            if r.status in (ActionStatus.DONE, ActionStatus.RESTORING, ActionStatus.RESTORED, ActionStatus.RESTORE_FAILED)
            and r.done_at is not None
            and (after is None or r.report_at > after)
            and r.report_at <= until
        ),
        key=lambda r: (-(r.hourly_cost_usd or ZERO), r.name),
    )
