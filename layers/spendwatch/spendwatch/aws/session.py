"""Where clients come from: a real account (credentials chain, region, profile, endpoint
URL) or the emulated AWS seeded from a fleet spec. Either way the rest of spendwatch sees
an ``AwsContext``."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from spendwatch import __version__
from spendwatch.aws.retry import DEFAULT_RETRY, NO_WAIT_RETRY, RetryPolicy
from spendwatch.emulator import LEDGER_TABLE, EmulatedAws
from spendwatch.errors import InputError
from spendwatch.fleet import Fleet, load_fleet

_CONFIG = Config(retries={"mode": "adaptive", "max_attempts": 10}, user_agent_extra=f"spendwatch/{__version__}")


@dataclass
class AwsContext:
    region: str
    now: datetime
    session: boto3.Session
    retry: RetryPolicy
    workers: int
    endpoint_url: str | None = None
    emulator: EmulatedAws | None = None

    def client(self, service: str, region: str | None = None) -> Any:
        return self.session.client(service, region_name=region or self.region, endpoint_url=self.endpoint_url, config=_CONFIG)

    @property
    def fleet(self) -> Fleet | None:
        return self.emulator.fleet if self.emulator else None

    def table_name(self, given: str | None) -> str:
        """The ledger table: the emulated one with --fleet, else --table / SPENDWATCH_TABLE_NAME."""
        if self.emulator is not None:
            return LEDGER_TABLE
        name = given or os.environ.get("SPENDWATCH_TABLE_NAME", "")
        if not name:
            raise InputError("--table", "name the ledger table (the stack's LedgerTableName output) or set SPENDWATCH_TABLE_NAME")
        return name


@contextmanager
def open_aws(
    fleet: str | Path | Fleet | None = None,
    region: str | None = None,
    profile: str | None = None,
    endpoint_url: str | None = None,
) -> Iterator[AwsContext]:
    """Real AWS, or with ``fleet`` the emulated AWS (whose clock is the fleet's ``now``)."""
    if fleet is not None:
        spec = fleet if isinstance(fleet, Fleet) else load_fleet(fleet)
        with EmulatedAws(spec) as emulator:
            assert emulator.session is not None
            yield AwsContext(spec.region, spec.now, emulator.session, NO_WAIT_RETRY, 1, None, emulator)
        return
    session = boto3.Session(profile_name=profile, region_name=region)
    if not session.region_name:
        raise InputError("--region", "no region given and none configured (AWS_REGION, profile)")
    yield AwsContext(session.region_name, datetime.now(UTC), session, DEFAULT_RETRY, 8, endpoint_url)


def lambda_aws(region: str, now: datetime) -> AwsContext:
    """The context inside Lambda: the default session (so tests can route it through the
    emulator), the scheduled instant as the clock."""
    session = boto3.DEFAULT_SESSION or boto3.Session()
    if boto3.DEFAULT_SESSION is None:
        boto3.DEFAULT_SESSION = session
    return AwsContext(region, now, session, DEFAULT_RETRY, 8)
