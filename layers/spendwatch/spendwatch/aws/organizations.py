"""AWS Organizations adapter: the organization's active accounts (``ListAccounts``, called
from the management account or a delegated administrator)."""

from __future__ import annotations

from typing import Any

from spendwatch.aws.retry import DEFAULT_RETRY, RetryPolicy

IAM_ACTIONS = ("organizations:ListAccounts",)


def active_accounts(client: Any, retry: RetryPolicy = DEFAULT_RETRY) -> list[tuple[str, str]]:
    """``(account id, name)`` of every ACTIVE account, all pages."""
    accounts: list[tuple[str, str]] = []
    token: str | None = None
    while True:
        page = retry.call("ListAccounts", client.list_accounts, **({"NextToken": token} if token else {}))
        for account in page.get("Accounts", []):
            # Status is deprecated in favour of State (2025); either says whether it is usable.
            state = account.get("State") or account.get("Status")
            if state in (None, "ACTIVE"):
                accounts.append((account["Id"], account.get("Name", "")))
        token = page.get("NextToken")
        if not token:
            return accounts
