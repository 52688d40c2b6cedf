"""The emulated organization: given a fleet of estates (accounts x regions), when a caller in
one account's region asks, then the emulated AWS answers for that estate alone; STS, the
Tagging API and Organizations answer as the real services do."""

from __future__ import annotations

import copy
import re
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.exceptions import ClientError

from spendwatch.aws.session import AwsContext
from spendwatch.core.errors import InputError
from spendwatch_emulator import open_fleet
from spendwatch_emulator.fleet import parse_fleet
from tests.fleets import LONG_AGO, NOW, component, endpoint, fleet, gpu_endpoint, seg

CENTRAL, B, C = "111111111111", "222222222222", "333333333333"
R1, R2 = "us-east-1", "eu-west-1"
ESTATES = [(account, region) for account in (CENTRAL, B, C) for region in (R1, R2)]
EARLIER = "2026-11-19T06:00:00Z"  # a day before NOW
SCALED_UP = "2026-11-19T12:00:00Z"  # the instance count steps up
COPIES_UP = "2026-11-19T18:00:00Z"  # the copies step up
NEWCOMER = "2026-11-20T00:00:00Z"  # an endpoint created late


def _at(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def _short(account: str, region: str) -> str:
    return f"{account[0]}-{region.replace('-', '')}"  # "2-euwest1"


def _estate(account: str, region: str) -> dict[str, Any]:
    """Every estate holds an endpoint named "shared-name" (names are unique per account and
    region only) and one named after the estate; B in R2 holds more (tags, timelines, traffic)."""
    short = _short(account, region)
    endpoints = [
        endpoint("shared-name", tags={"estate": short}, traffic=[seg(LONG_AGO, NOW, 60)]),
        endpoint(f"ep-{short}"),
    ]
    estate: dict[str, Any] = {"account_id": account, "region": region, "endpoints": endpoints}
    if (account, region) == (B, R2):
        endpoints += [endpoint(f"tagged-{n}", tags={"team": "red" if n % 2 else "blue"}) for n in range(5)] + [
            endpoint("scaling", count=[{"from": LONG_AGO, "count": 1}, {"from": SCALED_UP, "count": 2}]),
            endpoint("newcomer", created_at=NEWCOMER, tags={"team": "red"}),
            endpoint("retired", deleted_at=EARLIER, tags={"team": "red"}),
            gpu_endpoint(
                "shared-gpu",
                [
                    component(
                        "ic-a", tags={"team": "blue"}, copies=[{"from": LONG_AGO, "count": 1}, {"from": COPIES_UP, "count": 2}]
                    ),
                    component("ic-b", tags={"team": "red"}),
                    component("ic-untagged"),
                ],
            ),
        ]
        estate["prices_usd_per_hour"] = {"ml.m5.large": "0.129"}
    return estate


def org_doc() -> dict[str, Any]:
    return {
        "spec_version": 1,
        "now": NOW,
        "history_hours": 48,
        "account_id": CENTRAL,
        "region": R1,
        "prices_usd_per_hour": {"ml.m5.large": "0.115"},
        "estates": [_estate(account, region) for account, region in ESTATES],
    }


@pytest.fixture
def org() -> Iterator[AwsContext]:
    with open_fleet(parse_fleet(org_doc())) as aws:
        yield aws


def assumed(aws: AwsContext, account: str, region: str, role: str = "SpendwatchReader") -> boto3.Session:
    """A session in ``account`` made of AssumeRole's credentials, routed through the emulator."""
    answer = aws.client("sts").assume_role(RoleArn=f"arn:aws:iam::{account}:role/{role}", RoleSessionName="spendwatch-test")
    credentials = answer["Credentials"]
    session = boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=region,
    )
    assert aws.emulator is not None
    assert aws.emulator.attach is not None
    aws.emulator.attach(session)
    return session


def error_of(call: Any, **kwargs: Any) -> ClientError:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    return caught.value


def set_clock(aws: AwsContext, stamp: str) -> None:
    assert aws.emulator is not None
    assert aws.emulator.set_clock is not None
    aws.emulator.set_clock(_at(stamp))


# -- the fleet -----------------------------------------------------------------------------


def test_an_estates_fleet_parses_into_its_estates_with_prices_overlaid() -> None:
    parsed = parse_fleet(org_doc())

    assert [e.key for e in parsed.estates] == ESTATES
    assert (parsed.account_id, parsed.region) == (CENTRAL, R1)
    assert parsed.endpoints == []
    by_key = {e.key: e for e in parsed.estates}
    assert by_key[(B, R2)].prices_usd_per_hour == {"ml.m5.large": Decimal("0.129")}
    assert by_key[(C, R1)].prices_usd_per_hour == {"ml.m5.large": Decimal("0.115")}
    assert [e.name for e in by_key[(C, R1)].endpoints] == ["shared-name", "ep-3-useast1"]


def test_a_fleet_without_estates_is_one_estate_of_its_top_level() -> None:
    parsed = parse_fleet(fleet(endpoint("solo"), account_id=B, region=R2, prices_usd_per_hour={"ml.m5.large": "0.2"}))

    (estate,) = parsed.estates
    assert estate.key == (B, R2)
    assert [e.name for e in estate.endpoints] == ["solo"]
    assert estate.prices_usd_per_hour == {"ml.m5.large": Decimal("0.2")}
    with open_fleet(parsed) as aws:
        assert aws.emulator is not None
        assert aws.emulator.estates == ((B, R2),)
        assert aws.emulator.endpoint_count == 1
        assert [e["EndpointName"] for e in aws.client("sagemaker").list_endpoints()["Endpoints"]] == ["solo"]


def _with(path: list[Any], value: Any) -> dict[str, Any]:
    doc = org_doc()
    target: Any = doc
    for key in path[:-1]:
        target = target[key]
    if value is _DELETE:
        del target[path[-1]]
    elif isinstance(target, list) and path[-1] == len(target):
        target.append(value)
    else:
        target[path[-1]] = value
    return doc


_DELETE = object()
_TWIN = copy.deepcopy(_estate(B, R2))


@pytest.mark.parametrize(
    ("doc", "field", "says"),
    [
        pytest.param(_with(["estates", 1, "account_id"], "12345"), "estates[1].account_id", "12 digits", id="short-account"),
        pytest.param(_with(["estates", 2, "account_id"], 222222222222), "estates[2].account_id", "string", id="number-account"),
        pytest.param(_with(["estates", 1, "region"], "Mars"), "estates[1].region", "pattern", id="bad-region"),
        pytest.param(_with(["estates", 0, "endpoints"], _DELETE), "estates[0].endpoints", "required", id="no-endpoints"),
        pytest.param(_with(["estates", 0, "colour"], "blue"), "estates[0].colour", "unknown field", id="unknown-field"),
        pytest.param(_with(["estates"], []), "estates", "at least 1", id="no-estates"),
        pytest.param(_with(["endpoints"], [endpoint("top")]), "endpoints", "not allowed beside estates", id="top-endpoints"),
        pytest.param(_with(["estates", 6], _TWIN), "estates[6].account_id", "appears twice", id="duplicate-estate"),
        pytest.param(_with(["account_id"], "1"), "account_id", "12 digits", id="bad-central-account"),
        pytest.param(
            _with(["estates", 3, "endpoints", 1, "name"], "shared-name"),
            "estates[3].endpoints[1].name",
            "appears twice",
            id="duplicate-name-in-an-estate",
        ),
        pytest.param(
            _with(["estates", 4, "endpoints", 0, "deleted_at"], "2020-01-01T00:00:00Z"),
            "estates[4].endpoints[0].deleted_at",
            "must be after created_at",
            id="deleted-before-created",
        ),
        pytest.param(
            _with(["estates", 5, "prices_usd_per_hour"], {"ml.m5.large": "cheap"}),
            "estates[5].prices_usd_per_hour",
            "ml.m5.large",
            id="bad-price",
        ),
        pytest.param(
            _with(["estates", 5, "endpoints", 0, "variants", 0, "instance_count"], [{"from": "yesterday", "count": 1}]),
            "estates[5].endpoints[0].variants[0].instance_count[0].from",
            "ISO-8601",
            id="bad-timeline",
        ),
    ],
)
def test_a_bad_estates_spec_is_an_input_error_naming_the_field(doc: dict[str, Any], field: str, says: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_fleet(doc)

    assert caught.value.field == f"fleet: {field}"
    assert says in caught.value.message


def test_copies_that_cannot_fit_name_the_estate_and_endpoint() -> None:
    doc = org_doc()
    doc["estates"][4]["endpoints"].append(gpu_endpoint("crowded", [component("big", accelerators=2, copies=3)]))

    with pytest.raises(InputError) as caught, open_fleet(parse_fleet(doc)):
        pass

    assert caught.value.field == "estates[4].endpoints[2] (crowded)"


# -- one answer per estate -----------------------------------------------------------------


def test_each_estate_answers_with_its_own_endpoints_and_arns(org: AwsContext) -> None:
    for account, region in ESTATES:
        session = org.session if account == CENTRAL else assumed(org, account, region)
        sagemaker = session.client("sagemaker", region_name=region)
        listed = sagemaker.list_endpoints(MaxResults=100)["Endpoints"]
        expected = {"shared-name", f"ep-{_short(account, region)}"}
        if (account, region) == (B, R2):
            expected |= {f"tagged-{n}" for n in range(5)} | {"scaling", "newcomer", "shared-gpu"}
        assert {e["EndpointName"] for e in listed} == expected, (account, region)
        assert all(e["EndpointArn"].startswith(f"arn:aws:sagemaker:{region}:{account}:endpoint/") for e in listed)
        described = sagemaker.describe_endpoint(EndpointName="shared-name")
        assert described["EndpointArn"] == f"arn:aws:sagemaker:{region}:{account}:endpoint/shared-name"
        tags = sagemaker.list_tags(ResourceArn=described["EndpointArn"])["Tags"]
        assert tags == [{"Key": "estate", "Value": _short(account, region)}]


def test_an_assumed_session_in_b_r2_sees_exactly_b_r2(org: AwsContext) -> None:
    session = assumed(org, B, R2)
    sagemaker = session.client("sagemaker")

    names = [
        e["EndpointName"] for e in sagemaker.list_endpoints(MaxResults=100, SortBy="Name", SortOrder="Ascending")["Endpoints"]
    ]
    components = sagemaker.list_inference_components()["InferenceComponents"]
    other = error_of(sagemaker.describe_endpoint, EndpointName="ep-2-useast1")  # B's, but in R1

    assert names == sorted(
        ["ep-2-euwest1", "newcomer", "scaling", "shared-gpu", "shared-name", *(f"tagged-{n}" for n in range(5))]
    )
    assert {c["InferenceComponentArn"] for c in components} == {
        f"arn:aws:sagemaker:{R2}:{B}:inference-component/{name}" for name in ("ic-a", "ic-b", "ic-untagged")
    }
    assert {c["EndpointArn"] for c in components} == {f"arn:aws:sagemaker:{R2}:{B}:endpoint/shared-gpu"}
    assert other.response["Error"]["Code"] == "ValidationException"
    assert f"arn:aws:sagemaker:{R2}:{B}:endpoint/ep-2-useast1" in other.response["Error"]["Message"]
    assert org.emulator is not None
    assert org.emulator.calls_by_estate[(B, R2)]["ListEndpoints"] == 1
    assert org.emulator.calls_by_estate[(CENTRAL, R1)]["AssumeRole"] == 1
    assert org.emulator.calls["ListEndpoints"] == 1


def test_metrics_and_trail_are_per_estate(org: AwsContext) -> None:
    start, end = _at(EARLIER), _at(NOW)
    query = {
        "Id": "q",
        "MetricStat": {
            "Metric": {
                "Namespace": "AWS/SageMaker",
                "MetricName": "Invocations",
                "Dimensions": [{"Name": "EndpointName", "Value": "shared-name"}, {"Name": "VariantName", "Value": "AllTraffic"}],
            },
            "Period": 86400,
            "Stat": "Sum",
        },
    }
    in_b = assumed(org, B, R2)
    nowhere = assumed(org, B, "ap-south-1")  # B has no estate there: an empty region

    def total(session: boto3.Session) -> float:
        results = session.client("cloudwatch").get_metric_data(MetricDataQueries=[query], StartTime=start, EndTime=end)
        return float(sum(results["MetricDataResults"][0]["Values"]))

    assert total(org.session) == pytest.approx(24 * 60)  # 60 an hour for a day
    assert total(in_b) == pytest.approx(24 * 60)
    assert total(nowhere) == 0
    assert nowhere.client("sagemaker").list_endpoints()["Endpoints"] == []
    assert nowhere.client("cloudwatch").list_metrics()["Metrics"] == []
    assert [e["EventName"] for e in in_b.client("cloudtrail").lookup_events()["Events"]] == ["DeleteEndpoint"]
    event = in_b.client("cloudtrail").lookup_events()["Events"][0]
    assert f'"recipientAccountId": "{B}"' in event["CloudTrailEvent"]
    assert f'"awsRegion": "{R2}"' in event["CloudTrailEvent"]
    assert org.client("cloudtrail").lookup_events()["Events"] == []


def test_set_clock_moves_every_estate(org: AwsContext) -> None:
    in_b = assumed(org, B, R2).client("sagemaker")
    assert "newcomer" in {e["EndpointName"] for e in in_b.list_endpoints(MaxResults=100)["Endpoints"]}

    set_clock(org, EARLIER)

    assert "newcomer" not in {e["EndpointName"] for e in in_b.list_endpoints(MaxResults=100)["Endpoints"]}
    assert "retired" not in {e["EndpointName"] for e in in_b.list_endpoints(MaxResults=100)["Endpoints"]}  # deleted then
    late = assumed(org, C, R2).client("cloudwatch")  # another estate, asked for the first time
    stats = late.get_metric_data(
        MetricDataQueries=[
            {
                "Id": "q",
                "MetricStat": {
                    "Metric": {
                        "Namespace": "AWS/SageMaker",
                        "MetricName": "Invocations",
                        "Dimensions": [
                            {"Name": "EndpointName", "Value": "shared-name"},
                            {"Name": "VariantName", "Value": "AllTraffic"},
                        ],
                    },
                    "Period": 3600,
                    "Stat": "Sum",
                },
            }
        ],
        StartTime=_at(EARLIER) - timedelta(hours=2),
        EndTime=_at(NOW),
    )
    assert len(stats["MetricDataResults"][0]["Values"]) == 2  # nothing at or after the clock


def test_prices_are_per_estate(org: AwsContext) -> None:
    assert org.emulator is not None
    assert org.emulator.prices_by_estate[(B, R2)] == {"ml.m5.large": Decimal("0.129")}
    assert org.emulator.prices_by_estate[(C, R2)] == {"ml.m5.large": Decimal("0.115")}
    assert org.emulator.prices_usd_per_hour == {"ml.m5.large": Decimal("0.115")}  # the central estate's
    assert org.emulator.estates == tuple(ESTATES)
    assert org.emulator.account_id == CENTRAL
    assert org.emulator.endpoint_count == 6 * 2 + 9

    def price(session: boto3.Session, region: str) -> str:
        pricing = session.client("pricing", region_name="us-east-1")
        filters = [
            {"Type": "TERM_MATCH", "Field": "regionCode", "Value": region},
            {"Type": "TERM_MATCH", "Field": "instanceName", "Value": "ml.m5.large"},
        ]
        (item,) = pricing.get_products(ServiceCode="AmazonSageMaker", Filters=filters)["PriceList"]
        return re.findall(r'"USD": "([0-9.]+)"', item)[0]

    assert price(assumed(org, B, R1), R2) == "0.129"
    assert price(org.session, R1) == "0.115"
    assert price(assumed(org, C, R1), R2) == "0.115"


# -- STS -----------------------------------------------------------------------------------


def test_assume_role_gives_credentials_that_map_back_to_the_account(org: AwsContext) -> None:
    sts = org.client("sts")

    answer = sts.assume_role(RoleArn=f"arn:aws:iam::{C}:role/path/SpendwatchReader", RoleSessionName="scan", DurationSeconds=900)
    credentials = answer["Credentials"]

    assert re.fullmatch(rf"ASIA{C}[0-9A-F]{{4}}", credentials["AccessKeyId"])
    assert credentials["SecretAccessKey"]
    assert credentials["SessionToken"]
    assert credentials["Expiration"] == _at(NOW) + timedelta(seconds=900)
    assert answer["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{C}:assumed-role/SpendwatchReader/scan"
    assert answer["AssumedRoleUser"]["AssumedRoleId"].startswith("AROA")
    assert answer["AssumedRoleUser"]["AssumedRoleId"].endswith(":scan")
    default = sts.assume_role(RoleArn=f"arn:aws:iam::{CENTRAL}:role/Self", RoleSessionName="scan")["Credentials"]
    assert default["Expiration"] == _at(NOW) + timedelta(hours=1)
    assert default["AccessKeyId"] != credentials["AccessKeyId"]


def test_get_caller_identity_names_the_callers_account(org: AwsContext) -> None:
    central = org.client("sts").get_caller_identity()
    member = assumed(org, B, R1, role="Auditor").client("sts").get_caller_identity()

    assert central["Account"] == CENTRAL
    assert central["Arn"].startswith(f"arn:aws:sts::{CENTRAL}:assumed-role/")
    assert member["Account"] == B
    assert member["Arn"] == f"arn:aws:sts::{B}:assumed-role/Auditor/spendwatch-test"
    assert member["UserId"].endswith(":spendwatch-test")


def test_assume_role_into_an_account_outside_the_fleet_is_access_denied(org: AwsContext) -> None:
    role = "arn:aws:iam::999999999999:role/SpendwatchReader"

    error = error_of(org.client("sts").assume_role, RoleArn=role, RoleSessionName="scan")

    assert error.response["Error"]["Code"] == "AccessDenied"
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    message = error.response["Error"]["Message"]
    assert re.fullmatch(
        rf"User: arn:aws:sts::{CENTRAL}:assumed-role/[^ ]+ is not authorized to perform: sts:AssumeRole on resource: {role}",
        message,
    )


def test_a_denied_account_cannot_be_assumed_and_the_others_still_can() -> None:
    with open_fleet(parse_fleet(org_doc()), denied_accounts=frozenset({C})) as aws:
        sts = aws.client("sts")
        error = error_of(sts.assume_role, RoleArn=f"arn:aws:iam::{C}:role/SpendwatchReader", RoleSessionName="scan")
        allowed = sts.assume_role(RoleArn=f"arn:aws:iam::{B}:role/SpendwatchReader", RoleSessionName="scan")

    assert error.response["Error"]["Code"] == "AccessDenied"
    assert f"on resource: arn:aws:iam::{C}:role/SpendwatchReader" in error.response["Error"]["Message"]
    assert allowed["Credentials"]["AccessKeyId"].startswith(f"ASIA{B}")


def test_a_malformed_role_arn_is_a_validation_error(org: AwsContext) -> None:
    error = error_of(org.client("sts").assume_role, RoleArn="arn:aws:iam::12:user/someone-else", RoleSessionName="scan")

    assert error.response["Error"]["Code"] == "ValidationError"


# -- Organizations -------------------------------------------------------------------------


def test_list_accounts_pages_the_central_account_and_every_estate_account(org: AwsContext) -> None:
    organizations = org.client("organizations")

    first = organizations.list_accounts(MaxResults=2)
    second = organizations.list_accounts(MaxResults=2, NextToken=first["NextToken"])
    everything = organizations.get_paginator("list_accounts").paginate().build_full_result()["Accounts"]

    assert [a["Id"] for a in first["Accounts"]] == [CENTRAL, B]
    assert [a["Id"] for a in second["Accounts"]] == [C]
    assert "NextToken" not in second
    assert [a["Id"] for a in everything] == [CENTRAL, B, C]
    model = botocore.session.get_session().get_service_model("organizations")
    account_shape = model.operation_model("ListAccounts").output_shape.members["Accounts"].member
    arn_pattern = account_shape.members["Arn"].metadata["pattern"]
    for account in everything:
        assert account["Status"] == "ACTIVE"
        assert account["Name"] == f"account-{account['Id']}"
        assert account["Arn"] == f"arn:aws:organizations::{CENTRAL}:account/o-emulatedorg/{account['Id']}"
        assert re.match(arn_pattern, account["Arn"])
        assert "@" in account["Email"]
        assert account["JoinedMethod"] in ("INVITED", "CREATED")
        assert account["JoinedTimestamp"] < _at(NOW)


def test_list_accounts_from_a_member_account_is_denied(org: AwsContext) -> None:
    member = assumed(org, B, R1).client("organizations", region_name="us-east-1")

    error = error_of(member.list_accounts)

    assert error.response["Error"]["Code"] == "AccessDeniedException"


# -- Resource Groups Tagging API -----------------------------------------------------------


def _all_resources(session: boto3.Session, **kwargs: Any) -> tuple[list[dict[str, Any]], int]:
    tagging = session.client("resourcegroupstaggingapi")
    found: list[dict[str, Any]] = []
    pages = 0
    token = ""
    while True:
        page = tagging.get_resources(**kwargs, **({"PaginationToken": token} if token else {}))
        pages += 1
        found += page["ResourceTagMappingList"]
        token = page["PaginationToken"]
        if not token:
            return found, pages


def _names(found: list[dict[str, Any]]) -> set[str]:
    return {m["ResourceARN"].rsplit("/", 1)[1] for m in found}


def test_get_resources_lists_the_estates_tagged_resources_in_pages(org: AwsContext) -> None:
    in_b = assumed(org, B, R2)

    found, pages = _all_resources(in_b, ResourcesPerPage=3)
    endpoints, _ = _all_resources(in_b, ResourceTypeFilters=["sagemaker:endpoint"])
    components, _ = _all_resources(in_b, ResourceTypeFilters=["sagemaker:inference-component"])
    both, _ = _all_resources(in_b, ResourceTypeFilters=["sagemaker"])
    red, _ = _all_resources(in_b, TagFilters=[{"Key": "team", "Values": ["red"]}])
    elsewhere, _ = _all_resources(in_b, ResourceTypeFilters=["ec2:instance"])

    tagged_endpoints = {"shared-name", "newcomer", *(f"tagged-{n}" for n in range(5))}  # not retired: deleted
    assert _names(found) == tagged_endpoints | {"ic-a", "ic-b"}
    assert len(found) == 9
    assert pages == 3
    assert _names(endpoints) == tagged_endpoints
    assert _names(components) == {"ic-a", "ic-b"}
    assert _names(both) == _names(found)
    assert _names(red) == {"tagged-1", "tagged-3", "newcomer", "ic-b"}
    assert elsewhere == []
    ic_a = next(m for m in found if m["ResourceARN"].endswith("/ic-a"))
    assert ic_a == {
        "ResourceARN": f"arn:aws:sagemaker:{R2}:{B}:inference-component/ic-a",
        "Tags": [{"Key": "team", "Value": "blue"}],
    }
    central, _ = _all_resources(org.session)
    assert [m["ResourceARN"] for m in central] == [f"arn:aws:sagemaker:{R1}:{CENTRAL}:endpoint/shared-name"]


def test_get_resources_answers_as_of_the_clock_and_ends_with_an_empty_token(org: AwsContext) -> None:
    in_b = assumed(org, B, R2)
    set_clock(org, "2026-11-19T00:00:00Z")  # newcomer not created yet, retired not yet deleted

    found, _ = _all_resources(in_b, ResourceTypeFilters=["sagemaker:endpoint"])
    last = in_b.client("resourcegroupstaggingapi").get_resources(ResourcesPerPage=100)

    assert "newcomer" not in _names(found)
    assert "retired" in _names(found)
    assert last["PaginationToken"] == ""


def test_get_resources_refuses_bad_paging(org: AwsContext) -> None:
    tagging = org.client("resourcegroupstaggingapi")

    too_many = error_of(tagging.get_resources, ResourcesPerPage=101)
    bad_token = error_of(tagging.get_resources, PaginationToken="not-a-token")

    assert too_many.response["Error"]["Code"] == "InvalidParameterException"
    assert bad_token.response["Error"]["Code"] == "InvalidParameterException"


def test_without_component_coverage_a_component_filter_is_refused() -> None:
    with open_fleet(parse_fleet(org_doc()), tagging_covers_components=False) as aws:
        in_b = assumed(aws, B, R2)
        error = error_of(
            in_b.client("resourcegroupstaggingapi").get_resources,
            ResourceTypeFilters=["sagemaker:endpoint", "sagemaker:inference-component"],
        )
        endpoints_only, _ = _all_resources(in_b, ResourceTypeFilters=["sagemaker"])
        listed_by_list_tags = in_b.client("sagemaker").list_tags(
            ResourceArn=f"arn:aws:sagemaker:{R2}:{B}:inference-component/ic-a"
        )["Tags"]

    assert error.response["Error"]["Code"] == "InvalidParameterException"
    assert "sagemaker:inference-component" in error.response["Error"]["Message"]
    assert _names(endpoints_only) == {"shared-name", "newcomer", *(f"tagged-{n}" for n in range(5))}
    assert listed_by_list_tags == [{"Key": "team", "Value": "blue"}]


# -- LastModifiedTime ----------------------------------------------------------------------


def test_last_modified_time_moves_with_instance_and_copy_changes(org: AwsContext) -> None:
    sagemaker = assumed(org, B, R2).client("sagemaker")

    def endpoint_times() -> tuple[datetime, datetime]:
        listed = {e["EndpointName"]: e for e in sagemaker.list_endpoints(MaxResults=100)["Endpoints"]}
        described = sagemaker.describe_endpoint(EndpointName="scaling")
        assert described["LastModifiedTime"] == listed["scaling"]["LastModifiedTime"]
        return listed["scaling"]["LastModifiedTime"], listed["shared-name"]["LastModifiedTime"]

    def component_time() -> datetime:
        listed = {c["InferenceComponentName"]: c for c in sagemaker.list_inference_components()["InferenceComponents"]}
        described = sagemaker.describe_inference_component(InferenceComponentName="ic-a")
        assert described["LastModifiedTime"] == listed["ic-a"]["LastModifiedTime"]
        assert listed["ic-b"]["LastModifiedTime"] == _at(LONG_AGO)
        return listed["ic-a"]["LastModifiedTime"]

    set_clock(org, EARLIER)
    assert endpoint_times() == (_at(LONG_AGO), _at(LONG_AGO))
    assert component_time() == _at(LONG_AGO)

    set_clock(org, SCALED_UP)  # the change is at the clock: it counts
    assert endpoint_times() == (_at(SCALED_UP), _at(LONG_AGO))
    assert component_time() == _at(LONG_AGO)

    set_clock(org, NOW)
    assert endpoint_times() == (_at(SCALED_UP), _at(LONG_AGO))
    assert component_time() == _at(COPIES_UP)
    changed = sagemaker.list_endpoints(LastModifiedTimeAfter=_at(EARLIER))["Endpoints"]
    assert {e["EndpointName"] for e in changed} == {"scaling", "newcomer"}
    changed_components = sagemaker.list_inference_components(LastModifiedTimeAfter=_at(EARLIER))["InferenceComponents"]
    assert [c["InferenceComponentName"] for c in changed_components] == ["ic-a"]


# -- latency -------------------------------------------------------------------------------


def test_latency_is_paid_per_call_outside_the_lock() -> None:
    doc = fleet(endpoint("solo"))
    with open_fleet(parse_fleet(doc), latency_s=0.2) as aws:
        clients = [aws.session.client("sagemaker") for _ in range(8)]  # one client per thread
        started = time.perf_counter()
        aws.client("sts").get_caller_identity()
        one = time.perf_counter() - started
        threads = [threading.Thread(target=c.list_endpoints) for c in clients]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        eight = time.perf_counter() - started
        assert aws.emulator is not None
        assert aws.emulator.calls["ListEndpoints"] == 8

    assert one >= 0.2
    assert eight < 8 * 0.2 * 0.75  # they waited together, not one after the other (1.6 s)


def test_a_negative_latency_is_refused() -> None:
    with pytest.raises(ValueError, match="latency_s"), open_fleet(parse_fleet(fleet()), latency_s=-1):
        pass


def test_the_central_account_needs_no_estate_of_its_own() -> None:
    doc = org_doc()
    doc["account_id"] = "444444444444"
    with open_fleet(parse_fleet(doc)) as aws:
        assert aws.emulator is not None
        assert aws.emulator.account_id == "444444444444"
        assert aws.client("sagemaker").list_endpoints()["Endpoints"] == []
        accounts = [a["Id"] for a in aws.client("organizations").list_accounts()["Accounts"]]
        in_central = aws.client("sts").assume_role(RoleArn="arn:aws:iam::444444444444:role/Any", RoleSessionName="scan")
        assert aws.emulator.prices_usd_per_hour == {"ml.m5.large": Decimal("0.115")}  # the first estate's

    assert accounts == ["444444444444", CENTRAL, B, C]
    assert in_central["Credentials"]["AccessKeyId"].startswith("ASIA444444444444")
