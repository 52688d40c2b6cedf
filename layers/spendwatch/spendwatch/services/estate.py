"""What one run looks at: the inventory of one account's region, and, for an organization,
every (account, region) target reached through its member role.

The CLI goes through the targets one by one; the deployed application fans them out with
Step Functions (one Lambda invocation per target, see template.yaml), each invocation
opening its one target here."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Generic, TypeVar

from spendwatch.aws.organizations import active_accounts
from spendwatch.aws.sagemaker import Progress, SageMakerInventory
from spendwatch.aws.session import AwsContext
from spendwatch.aws.sts import assume_role, caller_account
from spendwatch.aws.tagging import ResourceTags
from spendwatch.core.accounts import DEFAULT_ROLE_NAME, Target, organization_targets, parse_accounts, role_arn
from spendwatch.core.errors import AwsError, SpendwatchError
from spendwatch.core.inventory import Inventory
from spendwatch.services.files import read_text

log = logging.getLogger(__name__)
T = TypeVar("T")


def collect_inventory(aws: AwsContext, progress: Progress | None = None, previous: Inventory | None = None) -> Inventory:
    """The account region's endpoints and components now, tags from the Tagging API where
    it answers; with ``previous``, only what changed since is described again."""
    return SageMakerInventory(aws.client("sagemaker"), aws.retry, aws.workers).collect(
        aws.region,
        progress,
        previous=previous,
        account_id=aws.account_id,
        tags=ResourceTags(aws.client("resourcegroupstaggingapi"), aws.retry),
    )


@dataclass(frozen=True)
class Reach:
    """Which accounts a command watches: the one its credentials belong to (the default),
    those an accounts file lists, or every active account of the organization."""

    accounts_file: Path | None = None
    organization: bool = False
    regions: tuple[str, ...] = ()
    role_name: str = DEFAULT_ROLE_NAME
    external_id: str | None = None


def home_account(aws: AwsContext) -> str:
    """The account spendwatch runs in (its own credentials')."""
    central = aws.central or aws
    if central.emulator is not None:
        return central.emulator.account_id
    return caller_account(central.client("sts"), central.retry)


def targets(aws: AwsContext, reach: Reach) -> tuple[list[Target], str | None] | None:
    """The (account, region) targets and the external id, or None for the one account
    region of ``aws`` alone (no organization asked for)."""
    if reach.accounts_file is not None:
        home = home_account(aws)
        text = read_text(reach.accounts_file, "--accounts")
        found, external_id = parse_accounts(text, "--accounts", home, reach.regions or (aws.region,))
        return found, reach.external_id or external_id
    if reach.organization:
        home = home_account(aws)
        accounts = active_accounts(aws.client("organizations"), aws.retry)
        return organization_targets(accounts, reach.regions or (aws.region,), reach.role_name, home), reach.external_id
    if aws.emulator is not None and _organization(aws):
        # A fleet of estates is an organization: every estate is reached as a member account is.
        home = aws.emulator.account_id
        found = [
            Target(account, region, None if account == home else role_arn(account, reach.role_name, "--role-name"))
            for account, region in aws.emulator.estates
        ]
        return sorted(found), reach.external_id
    return None


def _organization(aws: AwsContext) -> bool:
    """Whether the emulated fleet holds ``estates`` (other than the central account's region alone)."""
    assert aws.emulator is not None
    estates = tuple(getattr(aws.emulator, "estates", ()))
    return bool(estates) and estates != ((aws.emulator.account_id, aws.region),)


def open_target(aws: AwsContext, target: Target, external_id: str | None) -> AwsContext:
    """A context reading ``target``: the member role's session for another account, the
    central credentials in the target's region for the central account. Ledger, prices,
    parameters and notifications stay central (``AwsContext.central``)."""
    if target.role_arn is None:
        session = aws.session
        return AwsContext(target.region, aws.now, session, aws.retry, aws.workers, aws.endpoint_url, aws.emulator, central=aws)
    session = assume_role(aws.client("sts"), target.role_arn, external_id, target.region, aws.session, aws.retry)
    return AwsContext(
        target.region,
        aws.now,
        session,
        aws.retry,
        aws.workers,
        aws.endpoint_url,
        aws.emulator,
        account_id=target.account_id,
        central=aws,
    )


@dataclass
class Failure:
    target: Target
    error: str

    def to_json(self) -> dict[str, str]:
        return {"account_id": self.target.account_id, "region": self.target.region, "error": self.error}


@dataclass
class Outcome(Generic[T]):
    """What a job gave for each target, and the targets it failed for (by name)."""

    results: list[tuple[Target, T]] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    calls: Counter[str] = field(default_factory=Counter)
    """API calls made for the targets (member and central), by operation."""


def for_each(
    aws: AwsContext, found: list[Target], external_id: str | None, job: Callable[[AwsContext, Target], T]
) -> Outcome[T]:
    """Run ``job`` on every target in turn. One that fails (its role cannot be assumed, an
    AWS call fails for good) is reported and the others still run."""
    outcome: Outcome[T] = Outcome()
    for target in found:
        before = Counter(aws.calls)
        try:
            member = open_target(aws, target, external_id)
            outcome.results.append((target, job(member, target)))
        except SpendwatchError as exc:
            message = str(exc)
            if isinstance(exc, AwsError) and exc.operation == "AssumeRole":
                message = f"its role {target.role_arn} cannot be assumed: {exc.code}: {exc}"
            log.warning("account %s region %s failed: %s", target.account_id, target.region, message)
            outcome.failures.append(Failure(target, message))
        finally:
            # A member session keeps the central one's hooks: its calls are counted there too.
            outcome.calls.update(Counter(aws.calls) - before)
    return outcome
