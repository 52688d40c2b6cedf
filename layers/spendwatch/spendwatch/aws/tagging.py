"""Resource Groups Tagging API adapter: the tags of every SageMaker endpoint and inference
component of a region in one ``GetResources`` page per 100 resources, instead of one
``ListTags`` call per resource.

What the API answers is checked, not assumed: it lists only resources that carry (or once
carried) a tag, and whether it knows inference components at all is not documented. So:

* a resource type filter the API refuses (``InvalidParameterException``) is not covered;
* an answer with no SageMaker resource at all, in a region that has some, proves nothing
  (an emulator without SageMaker support answers exactly that): nothing is covered;
* where the API is not available or not allowed, nothing is covered.

The SageMaker adapter reads the tags of what is not covered with ``ListTags``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from spendwatch.aws.retry import DEFAULT_RETRY, RetryPolicy, unavailable
from spendwatch.core.errors import AwsError

log = logging.getLogger(__name__)
IAM_ACTIONS = ("tag:GetResources",)
ENDPOINT = "sagemaker:endpoint"
COMPONENT = "sagemaker:inference-component"
PAGE = 100  # GetResources' largest ResourcesPerPage
_REFUSED = ("InvalidParameterException", "ValidationException")
_DENIED = ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation")


@dataclass
class SageMakerTags:
    """Tags by lower-cased ARN (SageMaker ARNs carry lower-cased names), and which resource
    types the answer covers (for the others, ListTags)."""

    by_arn: dict[str, dict[str, str]] = field(default_factory=dict)
    covered: frozenset[str] = frozenset()

    def tags(self, arn: str) -> dict[str, str] | None:
        """The resource's tags, ``{}`` when covered and untagged, None when not covered."""
        kind = COMPONENT if ":inference-component/" in arn else ENDPOINT
        if kind not in self.covered:
            return None
        return dict(self.by_arn.get(arn.lower(), {}))


class ResourceTags:
    def __init__(self, client: Any, retry: RetryPolicy = DEFAULT_RETRY) -> None:
        self._client = client
        self._retry = retry

    def sagemaker(self, endpoints: int, components: int) -> SageMakerTags:
        """Tags of the region's SageMaker endpoints and components (``endpoints`` and
        ``components``: how many were listed, to judge whether an empty answer is one)."""
        if endpoints == 0 and components == 0:
            return SageMakerTags(covered=frozenset({ENDPOINT, COMPONENT}))
        types = [ENDPOINT, COMPONENT] if components else [ENDPOINT]
        try:
            found = self._read(types)
        except AwsError as exc:
            if exc.code in _REFUSED and COMPONENT in types:
                log.info("GetResources does not take %s here: component tags come from ListTags", COMPONENT)
                types = [ENDPOINT]
                try:
                    found = self._read(types)
                except AwsError as again:
                    return self._uncovered(again)
            else:
                return self._uncovered(exc)
        if not found:
            # Either nothing is tagged or the API does not know SageMaker here: ask ListTags.
            log.info("GetResources listed no SageMaker resource: tags come from ListTags")
            return SageMakerTags()
        return SageMakerTags(found, frozenset(types))

    def _uncovered(self, exc: AwsError) -> SageMakerTags:
        if unavailable(exc) or exc.code in _DENIED or exc.code in _REFUSED:
            log.warning("GetResources failed (%s): tags come from ListTags", exc.code)
            return SageMakerTags()
        raise exc

    def _read(self, types: list[str]) -> dict[str, dict[str, str]]:
        found: dict[str, dict[str, str]] = {}
        token = ""
        while True:
            kwargs: dict[str, Any] = {"ResourceTypeFilters": types, "ResourcesPerPage": PAGE}
            if token:
                kwargs["PaginationToken"] = token
            page = self._retry.call("GetResources", self._client.get_resources, **kwargs)
            for mapping in page.get("ResourceTagMappingList", []):
                found[mapping["ResourceARN"].lower()] = {t["Key"]: t["Value"] for t in mapping.get("Tags", [])}
            token = page.get("PaginationToken") or ""
            if not token:
                return found
