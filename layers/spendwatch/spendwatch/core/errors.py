"""Domain errors. Every error a user can cause names the field or flag at fault."""

from __future__ import annotations

from typing import Any


class SpendwatchError(Exception):
    """Base class of every error spendwatch raises on purpose."""


class InputError(SpendwatchError):
    """Bad input from a user: a fleet file, a flag, an event, a configuration or tag value.

    ``field`` is the dotted path of the offending field (``endpoints[2].variants[0].instance_type``).
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class AwsError(SpendwatchError):
    """An AWS call failed after its retries; ``operation`` names the API call."""

    def __init__(self, operation: str, code: str, message: str, response: dict[str, Any] | None = None) -> None:
        super().__init__(f"{operation} failed: {code}: {message}")
        self.operation = operation
        self.code = code
        self.response = response or {}

    @property
    def status(self) -> int:
        """The HTTP status AWS answered with (0 when none came back)."""
        return int(self.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)


def load_json_object(text: str, source: str, fields: tuple[str, ...]) -> dict[str, Any]:
    """A configuration document: a JSON object with only ``fields``; errors name the source
    and the field."""
    import json

    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(source, f"not valid JSON: {exc}") from None
    if not isinstance(document, dict):
        raise InputError(source, "expected a JSON object")
    unknown = set(document) - set(fields)
    if unknown:
        raise InputError(f"{source}: {sorted(unknown)[0]}", f"unknown field (expected {', '.join(fields)})")
    return document
