"""STS adapter: who the credentials belong to, and the read-only role of a member account
(``sts:AssumeRole`` with the external id the member role's trust requires)."""

from __future__ import annotations

import copy
from typing import Any

import boto3
import botocore.session

from spendwatch.aws.retry import DEFAULT_RETRY, RetryPolicy

IAM_ACTIONS = ("sts:AssumeRole", "sts:GetCallerIdentity")
SESSION_NAME = "spendwatch"


def caller_account(client: Any, retry: RetryPolicy = DEFAULT_RETRY) -> str:
    """The account the credentials belong to (GetCallerIdentity needs no permission)."""
    return str(retry.call("GetCallerIdentity", client.get_caller_identity)["Account"])


def assume_role(
    client: Any,
    role_arn: str,
    external_id: str | None,
    region: str,
    parent: boto3.Session,
    retry: RetryPolicy = DEFAULT_RETRY,
) -> boto3.Session:
    """A session in the member account, as the role ``role_arn``; an hour is more than any
    one account's run needs (a Lambda's is at most 15 minutes). It keeps ``parent``'s event
    hooks (its user agent, the count of calls, an emulator's routing), so a member's calls
    are made, and counted, as the central session's are."""
    kwargs: dict[str, Any] = {"RoleArn": role_arn, "RoleSessionName": SESSION_NAME, "DurationSeconds": 3600}
    if external_id:
        kwargs["ExternalId"] = external_id
    credentials = retry.call("AssumeRole", client.assume_role, **kwargs)["Credentials"]
    hooks = copy.copy(parent._session.get_component("event_emitter"))
    core = botocore.session.Session(event_hooks=hooks, include_builtin_handlers=False)
    return boto3.Session(
        botocore_session=core,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=region,
    )
