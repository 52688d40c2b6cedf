"""Where clients come from: a real account (credentials chain, region, profile, endpoint
URL) or, built by the CLI's ``--fleet`` wiring, the emulated AWS. Either way the rest of
spendwatch sees an ``AwsContext``; production code never imports the emulator."""

from __future__ import annotations

import os
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlparse
from weakref import WeakKeyDictionary

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ProfileNotFound

from spendwatch import __version__
from spendwatch.aws.retry import DEFAULT_RETRY, RetryPolicy
from spendwatch.core.errors import InputError
from spendwatch.core.inventory import place

# One retry layer: ours (aws/retry.py), bounded by the caller's deadline. botocore's own
# retries would multiply with it. Timeouts keep an unreachable endpoint from hanging a run.
BOTOCORE_CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": 1},
    connect_timeout=5,
    read_timeout=30,
    user_agent_extra=f"spendwatch/{__version__}",
)


@dataclass(frozen=True)
class Emulated:
    """What the rest of spendwatch may know of an emulated account (``--fleet``): plain
    values, so no production module needs the emulator to read them."""

    account_id: str
    history_start: datetime
    history_hours: int
    prices_usd_per_hour: Mapping[str, Decimal]
    endpoint_count: int
    table_name: str
    calls: Counter[str] = field(default_factory=Counter)
    """API calls the emulated AWS answered, by operation (shared with the emulator)."""
    set_clock: Callable[[datetime], None] | None = None
    """Moves the emulated clock (SageMaker, CloudWatch and CloudTrail answer as of then)."""
    estates: tuple[tuple[str, str], ...] = ()
    """The fleet's estates, as (account id, region): one for a fleet without ``estates``."""
    prices_by_estate: Mapping[tuple[str, str], Mapping[str, Decimal]] = field(default_factory=dict)
    """Each estate's fleet prices (the top level's overlaid with the estate's own)."""
    attach: Callable[[boto3.Session], None] | None = None
    """Routes a session made later (e.g. of AssumeRole's credentials) through the emulated AWS."""
    calls_by_estate: dict[tuple[str, str], Counter[str]] = field(default_factory=dict)
    """API calls the emulated AWS answered, by the caller's (account id, region), by operation."""


@dataclass
class AwsContext:
    region: str
    now: datetime
    session: boto3.Session
    retry: RetryPolicy
    workers: int
    endpoint_url: str | None = None
    emulator: Emulated | None = None
    account_id: str = ""
    """The account the resources are read from: "" for the one the session belongs to, the
    id of a member account reached by an assumed role (see ``central``)."""
    central: AwsContext | None = None
    """For a member account: the central account's context. The ledger, parameters, prices
    and notifications are central: their clients come from it."""

    clients: dict[tuple[str, str], Any] = field(default_factory=dict, repr=False, compare=False)
    """Clients made so far (thread-safe, and costly to make): one per service and region."""
    calls: Counter[str] = field(init=False, repr=False, compare=False)
    """API calls made through this context's session, by operation (every attempt counts)."""

    def __post_init__(self) -> None:
        self.calls = count_calls(self.session)

    @property
    def place(self) -> str:
        """Where this context's records, reports and state are kept in the ledger."""
        return place(self.account_id, self.region)

    def client(self, service: str, region: str | None = None) -> Any:
        # A member account's context reads its resources with the member session; central
        # services (ledger, parameters, prices, notifications) with the central one.
        owner = self.central if self.central is not None and service in CENTRAL_SERVICES else self
        key = (service, region or owner.region)
        if key not in owner.clients:
            owner.clients[key] = owner.session.client(
                service, region_name=key[1], endpoint_url=owner.endpoint_url, config=BOTOCORE_CONFIG
            )
        return owner.clients[key]

    def table_name(self, given: str | None) -> str:
        """The ledger table: the emulated one with --fleet, else --table / SPENDWATCH_TABLE_NAME."""
        if self.emulator is not None:
            return self.emulator.table_name
        name = given or os.environ.get("SPENDWATCH_TABLE_NAME", "")
        if not name:
            raise InputError("--table", "name the ledger table (the stack's LedgerTableName output) or set SPENDWATCH_TABLE_NAME")
        return name


CENTRAL_SERVICES = frozenset({"dynamodb", "ssm", "pricing", "sns", "organizations", "sts"})
_COUNTERS: WeakKeyDictionary[boto3.Session, Counter[str]] = WeakKeyDictionary()
_COUNTERS_LOCK = threading.Lock()


def count_calls(session: boto3.Session) -> Counter[str]:
    """The session's API calls by operation, counted as botocore makes them (once per
    session: a Lambda reuses its session across invocations, and takes differences)."""
    with _COUNTERS_LOCK:
        if session in _COUNTERS:
            return _COUNTERS[session]
        counter: Counter[str] = Counter()
        lock = threading.Lock()

        def count(model: Any, **_: Any) -> None:
            with lock:
                counter[model.name] += 1

        # Emitted once per call made (each retry of ours is a call), before anything, an
        # emulator included, can answer it.
        session.events.register("before-parameter-build", count, unique_id="spendwatch-count-calls")
        _COUNTERS[session] = counter
        return counter


REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$")


@contextmanager
def open_aws(region: str | None = None, profile: str | None = None, endpoint_url: str | None = None) -> Iterator[AwsContext]:
    """A real account: the default credentials chain, or ``profile``. Bad flags are refused
    here, before any call, each naming the flag."""
    if region is not None and not REGION.match(region):
        raise InputError("--region", f"not an AWS region name (such as us-east-1): {region!r}")
    if endpoint_url is not None:
        parsed = urlparse(endpoint_url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise InputError("--endpoint-url", f"expected http(s)://host[:port], got {endpoint_url!r}")
    try:
        session = boto3.Session(profile_name=profile, region_name=region)
    except ProfileNotFound:
        known = "see: aws configure list-profiles"
        raise InputError("--profile", f"no profile named {profile!r} in the AWS config files ({known})") from None
    except BotoCoreError as exc:
        raise InputError("--profile", f"the AWS configuration cannot be read: {exc}") from None
    if not session.region_name:
        raise InputError("--region", "no region given and none configured (AWS_REGION, profile)")
    if not REGION.match(session.region_name):
        raise InputError("--region", f"the configured region is not an AWS region name: {session.region_name!r}")
    yield AwsContext(session.region_name, datetime.now(UTC), session, DEFAULT_RETRY, 8, endpoint_url)


def lambda_aws(region: str, now: datetime) -> AwsContext:
    """The context inside Lambda: the default session (so tests can route it through the
    emulator), the scheduled instant as the clock."""
    session = boto3.DEFAULT_SESSION or boto3.Session()
    if boto3.DEFAULT_SESSION is None:
        boto3.DEFAULT_SESSION = session
    return AwsContext(region, now, session, DEFAULT_RETRY, 8)
