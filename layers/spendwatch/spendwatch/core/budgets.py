"""Monthly budgets: what they are, where they come from, and which thresholds a month's
spend has crossed. Pure: actuals and daily rates go in, statuses come out.

Budgets come from a tag on a resource (``spendwatch:budget-usd`` on an endpoint or an
inference component) or from a configuration document (file or SSM parameter)::

    {"budgets": [{"team": "search", "monthly_usd": "2500"},
                 {"cost-center": "cc-100", "monthly_usd": "4000"},
                 {"endpoint": "genai-shared", "monthly_usd": "3000", "account_id": "111122223333"}],
     "thresholds_pct": [50, 80, 100],
     "forecast_pct": 100,
     "cost": "effective"}

``cost`` says what spend is held to the budgets: ``effective`` (the default: what is really
paid, where an effective rate is known, list price elsewhere; ``core.effective``) or ``list``
(on-demand prices).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal

from spendwatch.core.errors import InputError, load_json_object
from spendwatch.core.inventory import Inventory
from spendwatch.core.ledger import GROUP_KEYS
from spendwatch.core.money import parse_money

BUDGET_TAG = "spendwatch:budget-usd"
DEFAULT_THRESHOLDS = (50, 80, 100)
DEFAULT_FORECAST_PCT = 100
FORECAST = "forecast"


@dataclass(frozen=True)
class Budget:
    scope: str  # team, cost-center, project, endpoint, component, model
    key: str
    monthly_usd: Decimal
    source: str
    account_id: str | None = None
    """Organization mode: the one account the budget applies to (None: every account region
    is held to it on its own)."""

    @property
    def name(self) -> str:
        return f"{self.scope} {self.key}"


@dataclass(frozen=True)
class BudgetConfig:
    budgets: tuple[Budget, ...] = ()
    thresholds_pct: tuple[int, ...] = DEFAULT_THRESHOLDS
    forecast_pct: int | None = DEFAULT_FORECAST_PCT
    problems: tuple[str, ...] = ()
    """Budgets that could not be read (a bad tag value): reported, never fatal."""
    cost: str = "effective"
    """``effective`` or ``list``: what spend is held to the budgets."""


@dataclass(frozen=True)
class BudgetStatus:
    budget: Budget
    month: str
    month_to_date: Decimal
    forecast: Decimal
    crossed: tuple[str, ...] = field(default=())
    """Thresholds crossed: "50", "80", "100" (percent of actual) and "forecast"."""
    as_of: datetime | None = None
    """The end of the last closed interval the figures cover (the forecast starts there)."""

    @property
    def used_pct(self) -> Decimal:
        return self.month_to_date / self.budget.monthly_usd * 100 if self.budget.monthly_usd else Decimal(0)

    @property
    def forecast_pct(self) -> Decimal:
        return self.forecast / self.budget.monthly_usd * 100 if self.budget.monthly_usd else Decimal(0)


def parse_thresholds(text: str, field_name: str) -> tuple[int, ...]:
    parts = [part.strip() for part in text.split(",")]
    if not all(part.isdigit() for part in parts):  # "50,,80", "50,80,", "eighty": a slip, not a setting
        raise InputError(field_name, f"expected whole percentages separated by commas, e.g. 50,80,100, got {text!r}")
    values = tuple(sorted({int(part) for part in parts}))
    if not values or any(not 1 <= v <= 1000 for v in values):
        raise InputError(field_name, f"each threshold must be a percentage between 1 and 1000, got {text!r}")
    return values


def load_config(text: str, source: str) -> BudgetConfig:
    """A budgets document (JSON); every error names the field."""
    document = load_json_object(text, source, ("budgets", "thresholds_pct", "forecast_pct", "cost"))
    budgets = []
    entries = document.get("budgets", [])
    if not isinstance(entries, list):
        raise InputError(f"{source}: budgets", "expected a list")
    for index, entry in enumerate(entries):
        where = f"{source}: budgets[{index}]"
        if not isinstance(entry, dict):
            raise InputError(where, 'expected an object such as {"team": "search", "monthly_usd": "2500"}')
        scopes = [k for k in entry if k in GROUP_KEYS]
        if len(scopes) != 1 or set(entry) - {scopes[0], "monthly_usd", "account_id"}:
            raise InputError(where, f"needs exactly one of {', '.join(GROUP_KEYS)} and monthly_usd (and may name an account_id)")
        account = entry.get("account_id")
        if account is not None and (not isinstance(account, str) or not (len(account) == 12 and account.isdigit())):
            raise InputError(f"{where}.account_id", f"expected a 12-digit account id as a string, got {account!r}")
        key = entry[scopes[0]]
        if not isinstance(key, str) or not key:
            raise InputError(f"{where}.{scopes[0]}", "expected a non-empty string")
        amount = parse_money(entry.get("monthly_usd"), f"{where}.monthly_usd")
        if amount == 0:
            raise InputError(f"{where}.monthly_usd", "must be above zero")
        budgets.append(Budget(scopes[0], key, amount, source, account))
    thresholds = document.get("thresholds_pct", list(DEFAULT_THRESHOLDS))
    if not isinstance(thresholds, list) or not all(isinstance(t, int) and not isinstance(t, bool) for t in thresholds):
        raise InputError(f"{source}: thresholds_pct", "expected a list of whole percentages, e.g. [50, 80, 100]")
    forecast = document.get("forecast_pct", DEFAULT_FORECAST_PCT)
    if forecast is not None and (not isinstance(forecast, int) or isinstance(forecast, bool) or forecast < 1):
        raise InputError(f"{source}: forecast_pct", "expected a whole percentage, or null to turn forecast alerts off")
    cost = document.get("cost", "effective")
    if cost not in ("effective", "list"):
        raise InputError(f"{source}: cost", f'expected "effective" or "list", got {cost!r}')
    return BudgetConfig(
        tuple(budgets),
        parse_thresholds(",".join(str(t) for t in thresholds), f"{source}: thresholds_pct"),
        forecast,
        cost=cost,
    )


def from_tags(inventory: Inventory) -> tuple[list[Budget], list[str]]:
    """Budgets set by the ``spendwatch:budget-usd`` tag; a bad value is a problem to
    report (naming the resource and the tag), not a reason to stop."""
    budgets, problems = [], []
    resources: list[tuple[str, str, Mapping[str, str]]] = [("endpoint", e.name, e.tags) for e in inventory.endpoints]
    resources += [("component", c.name, c.tags) for c in inventory.components]
    for scope, name, tags in resources:
        if BUDGET_TAG not in tags:
            continue
        try:
            amount = parse_money(tags[BUDGET_TAG].strip(), f"{scope} {name}: tag {BUDGET_TAG}")
            if amount == 0:
                raise InputError(f"{scope} {name}: tag {BUDGET_TAG}", "must be above zero")
        except InputError as exc:
            problems.append(str(exc))
            continue
        budgets.append(Budget(scope, name, amount, f"tag {BUDGET_TAG}"))
    return budgets, problems


def merge(config: BudgetConfig, tagged: Iterable[Budget], problems: Sequence[str]) -> BudgetConfig:
    """Configured budgets win over a tag on the same resource."""
    seen = {(b.scope, b.key) for b in config.budgets}
    extra = tuple(b for b in tagged if (b.scope, b.key) not in seen)
    return replace(config, budgets=config.budgets + extra, problems=(*config.problems, *problems))


def for_account(config: BudgetConfig, account_id: str) -> BudgetConfig:
    """The budgets that apply in ``account_id``: those naming it, and those naming none."""
    budgets = tuple(b for b in config.budgets if b.account_id in (None, account_id))
    return replace(config, budgets=budgets)


def evaluate(
    config: BudgetConfig,
    month: str,
    month_to_date: Mapping[tuple[str, str], Decimal],
    daily_rate: Mapping[tuple[str, str], Decimal],
    as_of: datetime,
    month_end: datetime,
) -> list[BudgetStatus]:
    """Each budget's month-to-date, month-end forecast (month-to-date plus the recent daily
    rate for the days left after ``as_of``, the end of the last closed interval, so the
    forecast does not move with the minute it is asked) and the thresholds crossed."""
    days_left = Decimal(max(0.0, (month_end - as_of).total_seconds())) / 86400
    statuses = []
    for budget in config.budgets:
        key = (budget.scope, budget.key)
        actual = month_to_date.get(key, Decimal(0))
        forecast = actual + daily_rate.get(key, Decimal(0)) * days_left
        crossed = [str(t) for t in config.thresholds_pct if actual >= budget.monthly_usd * t / 100]
        if config.forecast_pct is not None and forecast >= budget.monthly_usd * config.forecast_pct / 100:
            crossed.append(FORECAST)
        statuses.append(BudgetStatus(budget, month, actual, forecast, tuple(crossed), as_of))
    return statuses
