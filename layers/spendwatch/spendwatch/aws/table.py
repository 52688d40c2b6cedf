"""What every writer of the spendwatch table shares."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from spendwatch.aws.retry import RetryPolicy
from spendwatch.core.errors import AwsError

IAM_ACTIONS = ("dynamodb:PutItem", "dynamodb:Query")
WRITES_KEYS = (("put_if_absent", None),)
_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def dump(item: dict[str, Any]) -> dict[str, Any]:
    """An item of plain Python values (Decimal for numbers) as DynamoDB's attribute values."""
    return {k: _serializer.serialize(v) for k, v in item.items()}


def load(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _deserializer.deserialize(v) for k, v in item.items()}


def put_if_absent(client: Any, retry: RetryPolicy, table: str, item: dict[str, Any]) -> bool:
    """Put a (serialized) item unless its key exists; False when it did: a replay."""
    try:
        retry.call("PutItem", client.put_item, TableName=table, Item=item, ConditionExpression="attribute_not_exists(pk)")
    except AwsError as exc:
        if exc.code == "ConditionalCheckFailedException":
            return False
        raise
    return True


def query_items(
    client: Any, retry: RetryPolicy, table: str, condition: str, values: dict[str, Any], consistent: bool = False
) -> Iterator[dict[str, Any]]:
    """Every item a Query finds (serialized), page after page."""
    start: dict[str, Any] | None = None
    while True:
        kwargs: dict[str, Any] = {"TableName": table, "KeyConditionExpression": condition, "ExpressionAttributeValues": values}
        if consistent:
            kwargs["ConsistentRead"] = True
        if start:
            kwargs["ExclusiveStartKey"] = start
        page = retry.call("Query", client.query, **kwargs)
        yield from page.get("Items", [])
        start = page.get("LastEvaluatedKey")
        if not start:
            return
