"""Which accounts and regions one run watches (pure): the targets of an organization-wide
scan or meter, from an accounts file (``--accounts``, the ``AccountsParameterName``
parameter) or from AWS Organizations' account list.

The accounts document::

    {"external_id": "optional, the member role's sts:ExternalId",
     "accounts": [{"account_id": "111122223333", "role": "spendwatch-member",
                   "regions": ["us-east-1", "eu-west-1"], "name": "optional"}]}

``role`` is a role name in that account or a role ARN of that account.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from spendwatch.core.errors import InputError, load_json_object

DEFAULT_ROLE_NAME = "spendwatch-member"
ACCOUNT = re.compile(r"^\d{12}$")
REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$")
ROLE_NAME = re.compile(r"^[\w+=,.@/-]{1,64}$")
ROLE_ARN = re.compile(r"^arn:aws[\w-]*:iam::(\d{12}):role/([\w+=,.@/-]{1,512})$")
EXTERNAL_ID = re.compile(r"^[\w+=,.@:/-]{2,1224}$")
MAX_TARGETS = 10_000  # a Distributed Map's parallel children at most


@dataclass(frozen=True, order=True)
class Target:
    """One account's region to watch. ``role_arn`` is None for the account spendwatch runs
    in (its own credentials read it)."""

    account_id: str
    region: str
    role_arn: str | None = None
    name: str = ""

    @property
    def label(self) -> str:
        return f"{self.account_id} {self.region}" + (f" ({self.name})" if self.name else "")

    def to_json(self) -> dict[str, str | None]:
        return {"account_id": self.account_id, "region": self.region, "role_arn": self.role_arn}


def role_arn(account_id: str, role: str, field: str) -> str:
    """The role to assume in ``account_id``: a name in it, or an ARN of it."""
    matched = ROLE_ARN.match(role)
    if matched:
        if matched.group(1) != account_id:
            raise InputError(field, f"role {role} belongs to account {matched.group(1)}, not {account_id}")
        return role
    if not ROLE_NAME.match(role):
        raise InputError(field, f"not an IAM role name or role ARN: {role!r}")
    return f"arn:aws:iam::{account_id}:role/{role}"


def check_account(value: object, field: str) -> str:
    if not isinstance(value, str) or not ACCOUNT.match(value):
        raise InputError(field, f"expected a 12-digit account id as a string, got {value!r}")
    return value


def check_region(value: object, field: str) -> str:
    if not isinstance(value, str) or not REGION.match(value):
        raise InputError(field, f"not an AWS region name (such as us-east-1): {value!r}")
    return value


def check_external_id(value: object, field: str) -> str:
    if not isinstance(value, str) or not EXTERNAL_ID.match(value):
        raise InputError(field, "expected 2 to 1224 characters of letters, digits and +=,.@:/-_")
    return value


def parse_regions(text: str, field: str) -> tuple[str, ...]:
    """A comma-separated list of region names (blank entries ignored), without repeats."""
    regions = [r.strip() for r in text.split(",") if r.strip()]
    return tuple(dict.fromkeys(check_region(r, field) for r in regions))


def parse_accounts(
    text: str, source: str, home_account: str, default_regions: tuple[str, ...]
) -> tuple[list[Target], str | None]:
    """The targets an accounts document names, and its external id. ``home_account``'s
    regions are read with spendwatch's own credentials (no role)."""
    doc = load_json_object(text, source, ("external_id", "accounts"))
    external_id = doc.get("external_id")
    if external_id is not None:
        check_external_id(external_id, f"{source}: external_id")
    accounts = doc.get("accounts")
    if not isinstance(accounts, list) or not accounts:
        raise InputError(f"{source}: accounts", "expected a non-empty list of accounts")
    targets: list[Target] = []
    for index, entry in enumerate(accounts):
        where = f"{source}: accounts[{index}]"
        if not isinstance(entry, dict):
            raise InputError(where, "expected an object with account_id, role and regions")
        unknown = set(entry) - {"account_id", "role", "regions", "name"}
        if unknown:
            raise InputError(f"{where}.{sorted(unknown)[0]}", "unknown field (expected account_id, role, regions, name)")
        account = check_account(entry.get("account_id"), f"{where}.account_id")
        role = entry.get("role", DEFAULT_ROLE_NAME)
        if not isinstance(role, str):
            raise InputError(f"{where}.role", f"expected a role name or ARN, got {role!r}")
        arn = None if account == home_account else role_arn(account, role, f"{where}.role")
        regions = entry.get("regions", list(default_regions))
        if not isinstance(regions, list) or not regions:
            raise InputError(f"{where}.regions", "expected a non-empty list of region names")
        name = entry.get("name", "")
        if not isinstance(name, str):
            raise InputError(f"{where}.name", f"expected a string, got {name!r}")
        for r, region in enumerate(regions):
            targets.append(Target(account, check_region(region, f"{where}.regions[{r}]"), arn, name))
    return unique(targets, source), external_id


def organization_targets(
    accounts: Iterable[tuple[str, str]], regions: tuple[str, ...], role_name: str, home_account: str
) -> list[Target]:
    """Every (account, region) of an organization's active accounts ``(id, name)``."""
    if not ROLE_NAME.match(role_name):
        raise InputError("--role-name", f"not an IAM role name: {role_name!r}")
    targets = [
        Target(account, region, None if account == home_account else f"arn:aws:iam::{account}:role/{role_name}", name)
        for account, name in accounts
        for region in regions
    ]
    return unique(targets, "organization")


def unique(targets: list[Target], source: str) -> list[Target]:
    seen: set[tuple[str, str]] = set()
    for target in targets:
        key = (target.account_id, target.region)
        if key in seen:
            raise InputError(source, f"account {target.account_id} region {target.region} is listed twice")
        seen.add(key)
    if len(targets) > MAX_TARGETS:
        raise InputError(source, f"{len(targets)} account regions: at most {MAX_TARGETS}")
    return sorted(targets)
