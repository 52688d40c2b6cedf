"""template.yaml's promises, checked on the template itself: runtimes, schedules, the table and
its backups, the functions' roles, the encrypted topic, alarms, the dashboard and the environment
each function's code reads. (What each role grants is tests/test_iam.py's.)"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from spendwatch.core import metricnames as mn
from tests.conftest import REPO
from tests.template import load_template

TEMPLATE = load_template()
RESOURCES: dict[str, Any] = TEMPLATE["Resources"]
PARAMETERS: dict[str, Any] = TEMPLATE["Parameters"]
FUNCTIONS = sorted(k for k, v in RESOURCES.items() if v["Type"] == "AWS::Serverless::Function")
QUEUES = sorted(k for k, v in RESOURCES.items() if v["Type"] == "AWS::SQS::Queue")
ALARMS = {k: v["Properties"] for k, v in RESOURCES.items() if v["Type"] == "AWS::CloudWatch::Alarm"}

# What each function is scheduled to do, and the environment its code reads (its contract with template.yaml).
# TargetsFunction has no schedule: only the organization fan-out's state machine invokes it
# (tests/test_organization_template.py).
TASKS = {"IdleScanFunction": "idle-scan", "CostMeterFunction": "meter", "NotifierFunction": "notify"}
# Remediation: created only when the Remediation parameter is apply, scheduled after the scan, never fanned out.
REMEDIATION = "RemediationFunction"
SCHEDULE_TASKS = {**TASKS, REMEDIATION: "remediate"}
SCHEDULED = sorted(SCHEDULE_TASKS)
ENVIRONMENT = {
    "IdleScanFunction": {
        "SPENDWATCH_TABLE_NAME",
        "SPENDWATCH_LOOKBACK_HOURS",
        "SPENDWATCH_PRICES_PARAMETER",
        "SPENDWATCH_REFRESH_PRICES",
        "SPENDWATCH_METRICS_NAMESPACE",
        "SPENDWATCH_MEMBER_EXTERNAL_ID",
        "POWERTOOLS_SERVICE_NAME",
        "POWERTOOLS_LOG_LEVEL",
    },
    "CostMeterFunction": {
        "SPENDWATCH_TABLE_NAME",
        "SPENDWATCH_INTERVAL_MINUTES",
        "SPENDWATCH_METER_BACKFILL_HOURS",
        "SPENDWATCH_METER_SETTLE_MINUTES",
        "SPENDWATCH_PRICES_PARAMETER",
        "SPENDWATCH_REFRESH_PRICES",
        "SPENDWATCH_METRICS_NAMESPACE",
        "SPENDWATCH_MEMBER_EXTERNAL_ID",
        "POWERTOOLS_SERVICE_NAME",
        "POWERTOOLS_LOG_LEVEL",
    },
    "NotifierFunction": {
        "SPENDWATCH_TABLE_NAME",
        "SPENDWATCH_TOPIC_ARN",
        "SPENDWATCH_BUDGETS_PARAMETER",
        "SPENDWATCH_BUDGET_THRESHOLDS",
        "SPENDWATCH_METRICS_NAMESPACE",
        "SPENDWATCH_MEMBER_EXTERNAL_ID",
        "POWERTOOLS_SERVICE_NAME",
        "POWERTOOLS_LOG_LEVEL",
    },
    "RemediationFunction": {
        "SPENDWATCH_TABLE_NAME",
        "SPENDWATCH_REMEDIATION",
        "SPENDWATCH_REMEDIATION_IDLE_NIGHTS",
        "SPENDWATCH_METRICS_NAMESPACE",
        "POWERTOOLS_SERVICE_NAME",
        "POWERTOOLS_LOG_LEVEL",
    },
    "TargetsFunction": {
        "SPENDWATCH_TABLE_NAME",
        "SPENDWATCH_ACCOUNTS_PARAMETER",
        "SPENDWATCH_REGIONS",
        "SPENDWATCH_MEMBER_ROLE_NAME",
        "SPENDWATCH_METRICS_NAMESPACE",
        "POWERTOOLS_SERVICE_NAME",
        "POWERTOOLS_LOG_LEVEL",
    },
}
# OrganizationMode's resources, created only when it is on (tests/test_organization_template.py checks them).
ORGANIZATION = sorted(k for k, v in RESOURCES.items() if v.get("Condition") == "IsOrganization")
# Remediation's resources, created only when the Remediation parameter is apply.
REMEDIATION_RESOURCES = sorted(k for k, v in RESOURCES.items() if v.get("Condition") == "RemediationApply")
# The state machine's log group: Step Functions, not a function, writes to it.
STATE_MACHINE_LOG_GROUPS = ["FanOutLogGroup"]
# Alarms on spendwatch's own metrics, beyond each function's errors and throttles and each queue's messages: the
# meter stalled, held and the unallocated GPUs; OrganizationMode's failed targets and failed fan-out runs.
METRIC_ALARMS = 3
ORGANIZATION_RUN_ALARMS = 2


def props(logical_id: str) -> dict[str, Any]:
    found: dict[str, Any] = RESOURCES[logical_id]["Properties"]
    return found


def ref(value: Any) -> str:
    assert isinstance(value, dict), value
    assert set(value) == {"Ref"}, value
    return str(value["Ref"])


def get_att(value: Any) -> tuple[str, str]:
    assert isinstance(value, dict), value
    assert set(value) == {"Fn::GetAtt"}, value
    target = value["Fn::GetAtt"]
    resource, _, attribute = target.partition(".") if isinstance(target, str) else (target[0], ".", target[1])
    return resource, attribute


def role_of(logical_id: str) -> str:
    role, attribute = get_att(props(logical_id)["Role"])
    assert (RESOURCES[role]["Type"], attribute) == ("AWS::IAM::Role", "Arn"), logical_id
    return role


def role_statements(logical_id: str) -> list[Any]:
    return [s for policy in props(role_of(logical_id))["Policies"] for s in policy["PolicyDocument"]["Statement"]]


def schedule_of(logical_id: str) -> dict[str, Any]:
    events = props(logical_id)["Events"]
    assert len(events) == 1, f"{logical_id}: one schedule, got {sorted(events)}"
    (event,) = events.values()
    assert event["Type"] == "ScheduleV2", f"{logical_id}: EventBridge Scheduler (ScheduleV2), not {event['Type']}"
    found: dict[str, Any] = event["Properties"]
    return found


def test_the_three_functions_are_there() -> None:
    assert set(FUNCTIONS) == set(TASKS) | {"TargetsFunction", REMEDIATION}
    assert RESOURCES["TargetsFunction"]["Condition"] == "IsOrganization"
    assert RESOURCES[REMEDIATION]["Condition"] == "RemediationApply"
    assert all("Condition" not in RESOURCES[f] for f in TASKS)


@pytest.mark.parametrize("logical_id", FUNCTIONS)
def test_function_is_python313_arm64_on_the_layer_with_its_log_group(logical_id: str) -> None:
    p = props(logical_id)
    assert p["Runtime"] == "python3.13"
    assert p["Architectures"] == ["arm64"]
    assert {"Ref": "SpendwatchLayer"} in p["Layers"]
    assert p["Tracing"] == "Active"
    if logical_id in TASKS:
        # One run at a time; OrganizationMode on, one per target the fan-out runs at once.
        assert p["ReservedConcurrentExecutions"] == {"Fn::If": ["IsOrganization", {"Ref": "FanOutConcurrency"}, 1]}
    elif logical_id == REMEDIATION:
        assert p["ReservedConcurrentExecutions"] == 1  # one remediation at a time, never fanned out
    else:
        assert p["ReservedConcurrentExecutions"] == 3  # the three schedules' fan-out runs may overlap
    assert RESOURCES[logical_id]["Metadata"]["BuildMethod"] == "makefile"
    makefile = REPO / p["CodeUri"] / "Makefile"
    assert f"build-{logical_id}:" in makefile.read_text(), f"{makefile} has no build-{logical_id} target"
    group = ref(p["LoggingConfig"]["LogGroup"])
    assert RESOURCES[group]["Type"] == "AWS::Logs::LogGroup"
    assert ref(props(group)["RetentionInDays"]) == "LogRetentionDays"
    assert RESOURCES[group].get("Condition") == RESOURCES[logical_id].get("Condition")
    if logical_id in SCHEDULE_TASKS:
        dlq, _ = get_att(p["DeadLetterQueue"]["TargetArn"])
        assert RESOURCES[dlq]["Type"] == "AWS::SQS::Queue"
    else:  # invoked synchronously by the state machine alone: a dead-letter queue would never receive anything
        assert "DeadLetterQueue" not in p
        assert "Events" not in p


def test_log_groups_are_one_per_function() -> None:
    groups = [k for k, v in RESOURCES.items() if v["Type"] == "AWS::Logs::LogGroup"]
    functions = [ref(props(f)["LoggingConfig"]["LogGroup"]) for f in FUNCTIONS]
    assert sorted(groups) == sorted(functions + STATE_MACHINE_LOG_GROUPS)


def test_layer_is_built_for_python313_arm64() -> None:
    layer = RESOURCES["SpendwatchLayer"]
    assert layer["Metadata"] == {"BuildMethod": "makefile", "BuildArchitecture": "arm64"}
    assert layer["Properties"]["CompatibleRuntimes"] == ["python3.13"]
    assert layer["Properties"]["CompatibleArchitectures"] == ["arm64"]


@pytest.mark.parametrize("logical_id", SCHEDULED)
def test_schedule_passes_its_scheduled_time(logical_id: str) -> None:
    schedule = schedule_of(logical_id)
    assert json.loads(schedule["Input"]) == {
        "source": "spendwatch.schedule",
        "task": SCHEDULE_TASKS[logical_id],
        "scheduled_time": "<aws.scheduler.scheduled-time>",
    }
    expression = PARAMETERS[ref(schedule["ScheduleExpression"])]
    assert re.fullmatch(expression["AllowedPattern"], expression["Default"])
    assert ref(schedule["ScheduleExpressionTimezone"]) == "ScheduleTimezone"
    name = {"idle-scan": "idle-scan", "meter": "cost-meter", "notify": "notifier", "remediate": "remediate"}[
        SCHEDULE_TASKS[logical_id]
    ]
    assert schedule["Name"] == {"Fn::Sub": "${AWS::StackName}-" + name}  # unique per stack: two stacks may share an account
    assert schedule["RetryPolicy"]["MaximumRetryAttempts"] >= 1
    assert get_att(schedule["DeadLetterConfig"]["Arn"]) == ("ScheduleDeadLetterQueue", "Arn")


def test_schedule_defaults() -> None:
    assert PARAMETERS["IdleScanSchedule"]["Default"] == "cron(0 6 * * ? *)"
    assert PARAMETERS["MeterSchedule"]["Default"] == "cron(15 * * * ? *)"  # after the 10-minute settle delay
    assert PARAMETERS["NotifySchedule"]["Default"] == "cron(30 6 * * ? *)"  # after the scan
    # after the scan (whose report it acts on), before the notifier (whose digest tells what it did)
    assert PARAMETERS["RemediationSchedule"]["Default"] == "cron(15 6 * * ? *)"
    assert (PARAMETERS["Remediation"]["Default"], PARAMETERS["Remediation"]["AllowedValues"]) == ("report", ["report", "apply"])
    assert PARAMETERS["RemediationIdleNights"]["Default"] == 7
    assert PARAMETERS["ScheduleTimezone"]["Default"] == "UTC"
    interval = PARAMETERS["MeterIntervalMinutes"]
    assert (interval["Default"], interval["MinValue"], interval["MaxValue"]) == (60, 5, 1440)
    # The meter accepts only intervals that tile the UTC day.
    assert interval["AllowedValues"] == [m for m in range(5, 1441) if 1440 % m == 0]


@pytest.mark.parametrize("logical_id", SCHEDULED)
def test_sample_event_is_what_the_schedule_sends(logical_id: str) -> None:
    name = props(logical_id)["CodeUri"].rsplit("/", 1)[1]
    sample = json.loads((REPO / "events" / f"{name}.json").read_text())
    sent = json.loads(schedule_of(logical_id)["Input"])
    assert {k: v for k, v in sample.items() if k != "scheduled_time"} == {k: v for k, v in sent.items() if k != "scheduled_time"}
    # the meter's sample is its default schedule's 06:15 run (the hour to 06:00 has settled); the others run at 06:00
    assert sample["scheduled_time"] == ("2026-11-20T06:15:00Z" if logical_id == "CostMeterFunction" else "2026-11-20T06:00:00Z")


@pytest.mark.parametrize("logical_id", FUNCTIONS)
def test_environment_is_the_contract_with_the_code(logical_id: str) -> None:
    variables = props(logical_id)["Environment"]["Variables"]
    assert set(variables) == ENVIRONMENT[logical_id]
    assert variables["SPENDWATCH_TABLE_NAME"] == {"Ref": "LedgerTable"}
    assert variables["SPENDWATCH_METRICS_NAMESPACE"] == mn.DEFAULT_NAMESPACE
    assert variables["POWERTOOLS_SERVICE_NAME"] == "spendwatch"


def test_meter_and_notifier_settings_come_from_parameters() -> None:
    meter = props("CostMeterFunction")["Environment"]["Variables"]
    assert ref(meter["SPENDWATCH_INTERVAL_MINUTES"]) == "MeterIntervalMinutes"
    assert ref(meter["SPENDWATCH_METER_BACKFILL_HOURS"]) == "MeterBackfillHours"
    assert ref(meter["SPENDWATCH_METER_SETTLE_MINUTES"]) == "MeterSettleMinutes"
    assert PARAMETERS["MeterBackfillHours"]["Default"] == 24
    assert ref(meter["SPENDWATCH_PRICES_PARAMETER"]) == "PricesParameterName"
    assert meter["SPENDWATCH_REFRESH_PRICES"] == "true"
    notifier = props("NotifierFunction")["Environment"]["Variables"]
    assert ref(notifier["SPENDWATCH_TOPIC_ARN"]) == "NotificationsTopic"
    assert ref(notifier["SPENDWATCH_BUDGETS_PARAMETER"]) == "BudgetsParameterName"
    assert ref(notifier["SPENDWATCH_BUDGET_THRESHOLDS"]) == "BudgetThresholds"
    thresholds = PARAMETERS["BudgetThresholds"]
    assert thresholds["Default"] == "50,80,100"
    assert re.fullmatch(thresholds["AllowedPattern"], thresholds["Default"])
    assert not re.fullmatch(thresholds["AllowedPattern"], "50;80")


def test_every_parameter_is_used() -> None:
    text = json.dumps(RESOURCES) + json.dumps(TEMPLATE.get("Conditions", {}))
    for name in PARAMETERS:
        assert f'"Ref": "{name}"' in text or "${" + name + "}" in text, f"parameter {name} is never used"


def test_table_keeps_its_data() -> None:
    table = RESOURCES["LedgerTable"]
    assert table["DeletionPolicy"] == "Retain"
    assert table["UpdateReplacePolicy"] == "Retain"
    p = table["Properties"]
    assert p["BillingMode"] == "PAY_PER_REQUEST"
    assert p["DeletionProtectionEnabled"] is True  # no DeleteTable, by the stack or by hand, until it is switched off
    assert p["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert p["SSESpecification"] == {"SSEEnabled": True, "SSEType": "KMS"}
    assert p["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert [k["AttributeName"] for k in p["KeySchema"]] == ["pk", "sk"]
    (index,) = p["GlobalSecondaryIndexes"]
    assert index["IndexName"] == "gsi1"
    assert [k["AttributeName"] for k in index["KeySchema"]] == ["gsi1pk", "gsi1sk"]


def test_topic_is_encrypted_with_a_rotated_customer_managed_key() -> None:
    key, attribute = get_att(props("NotificationsTopic")["KmsMasterKeyId"])
    assert (RESOURCES[key]["Type"], attribute) == ("AWS::KMS::Key", "Arn")
    assert props(key)["EnableKeyRotation"] is True
    statements = {s["Sid"]: s for s in props(key)["KeyPolicy"]["Statement"]}
    root = {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}}
    assert statements["AccountAdministersTheKey"]["Principal"] == root
    cloudwatch = statements["CloudWatchAlarmsPublish"]
    assert cloudwatch["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert set(cloudwatch["Action"]) == {"kms:GenerateDataKey*", "kms:Decrypt"}
    assert cloudwatch["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    # The notifier's own grant on the key is in its role's policy, on this key alone.
    notifier = [s for s in role_statements("NotifierFunction") if isinstance(s, dict) and s.get("Sid") == "TopicKey"]
    assert notifier
    assert get_att(notifier[0]["Resource"]) == (key, "Arn")


@pytest.mark.parametrize("logical_id", FUNCTIONS)
def test_each_function_has_a_role_of_its_own(logical_id: str) -> None:
    """Written out, not SAM's generated role (which would attach AWSLambdaBasicExecutionRole: logs
    in every log group of the account): assumable by Lambda alone, inline policies only, and
    unnamed, so the stack deploys with CAPABILITY_IAM."""
    assert "Policies" not in props(logical_id)
    role = role_of(logical_id)
    assert role == f"{logical_id}Role"  # the name SAM gave it: the topic policy names the notifier's
    assert [r for r in FUNCTIONS if role_of(r) == role] == [logical_id]
    p = props(role)
    assert p["AssumeRolePolicyDocument"]["Statement"] == [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ]
    assert "ManagedPolicyArns" not in p
    if logical_id in TASKS:  # OrganizationMode on names the workers' roles: the member roles' trust names them
        slug = {"idle-scan": "idle-scan", "meter": "cost-meter", "notify": "notifier"}[TASKS[logical_id]]
        name = {"Fn::Sub": "${AWS::StackName}-" + slug + "-worker"}
        assert p["RoleName"] == {"Fn::If": ["IsOrganization", name, {"Ref": "AWS::NoValue"}]}
    else:
        assert "RoleName" not in p
    (policy,) = p["Policies"]
    assert policy["PolicyDocument"]["Version"] == "2012-10-17"
    group = ref(props(logical_id)["LoggingConfig"]["LogGroup"])
    (logs,) = [s for s in role_statements(logical_id) if s.get("Sid") == "OwnLogGroup"]
    assert get_att(logs["Resource"]) == (group, "Arn")


def test_ledger_is_backed_up_beyond_point_in_time_recovery() -> None:
    """Monthly AWS Backup recovery points, kept LedgerBackupRetentionDays (a year unless set; 0
    creates no plan), in a vault that outlives the stack."""
    retention = PARAMETERS["LedgerBackupRetentionDays"]
    assert retention["Default"] == 365
    assert 0 in retention["AllowedValues"]
    assert all(days == 0 or days > 35 for days in retention["AllowedValues"])  # beyond what PITR keeps
    assert TEMPLATE["Conditions"]["HasLedgerBackups"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "LedgerBackupRetentionDays"}, "0"]}]
    }
    backup = {k: v for k, v in RESOURCES.items() if v["Type"].startswith("AWS::Backup::") or k == "LedgerBackupRole"}
    assert sorted(backup) == ["LedgerBackupPlan", "LedgerBackupRole", "LedgerBackupSelection", "LedgerBackupVault"]
    assert all(v["Condition"] == "HasLedgerBackups" for v in backup.values())
    vault = RESOURCES["LedgerBackupVault"]
    assert (vault["DeletionPolicy"], vault["UpdateReplacePolicy"]) == ("Retain", "Retain")
    (rule,) = props("LedgerBackupPlan")["BackupPlan"]["BackupPlanRule"]
    assert ref(rule["TargetBackupVault"]) == "LedgerBackupVault"
    assert rule["ScheduleExpression"] == "cron(0 5 1 * ? *)"
    assert ref(rule["Lifecycle"]["DeleteAfterDays"]) == "LedgerBackupRetentionDays"
    selection = props("LedgerBackupSelection")
    assert ref(selection["BackupPlanId"]) == "LedgerBackupPlan"
    assert [get_att(r) for r in selection["BackupSelection"]["Resources"]] == [("LedgerTable", "Arn")]
    assert get_att(selection["BackupSelection"]["IamRoleArn"]) == ("LedgerBackupRole", "Arn")
    role = props("LedgerBackupRole")
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": "backup.amazonaws.com"}
    assert role["ManagedPolicyArns"] == [
        {"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup"}
    ]


def test_only_the_notifier_and_this_stacks_alarms_publish_and_only_over_tls() -> None:
    p = props("NotificationsTopicPolicy")
    assert p["Topics"] == [{"Ref": "NotificationsTopic"}]
    statements = {s["Sid"]: s for s in p["PolicyDocument"]["Statement"]}
    assert get_att(statements["NotifierPublishes"]["Principal"]["AWS"]) == ("NotifierFunctionRole", "Arn")
    deny = statements["OnlyTheNotifierPublishes"]
    assert (deny["Effect"], deny["Principal"], deny["Action"]) == ("Deny", "*", "sns:Publish")
    assert get_att(deny["Condition"]["ArnNotEquals"]["aws:PrincipalArn"]) == ("NotifierFunctionRole", "Arn")
    tls = statements["TlsOnly"]
    assert (tls["Effect"], tls["Condition"]) == ("Deny", {"Bool": {"aws:SecureTransport": "false"}})
    alarms = statements["CloudWatchAlarmsPublish"]
    assert alarms["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    pattern = alarms["Condition"]["ArnLike"]["aws:SourceArn"]["Fn::Sub"]
    assert pattern.endswith(":alarm:${AWS::StackName}-*")


def test_email_subscription_only_when_an_address_is_given() -> None:
    subscription = RESOURCES["NotificationsEmailSubscription"]
    assert subscription["Condition"] == "HasNotificationEmail"
    assert subscription["Properties"]["Protocol"] == "email"
    assert TEMPLATE["Conditions"]["HasNotificationEmail"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "NotificationEmail"}, ""]}]}


def test_dead_letter_queues_are_encrypted_and_tls_only() -> None:
    assert QUEUES == ["InvocationDeadLetterQueue", "ScheduleDeadLetterQueue"]
    for queue in QUEUES:
        assert props(queue)["SqsManagedSseEnabled"] is True
    policy = props("DeadLetterQueuesPolicy")
    assert sorted(ref(q) for q in policy["Queues"]) == QUEUES
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def _alarms_on(namespace: str, metric: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in ALARMS.items() if v.get("Namespace") == namespace and v.get("MetricName") == metric}


def test_every_function_alarms_on_errors_and_throttles() -> None:
    for metric in ("Errors", "Throttles"):
        watched = sorted(ref(a["Dimensions"][0]["Value"]) for a in _alarms_on("AWS/Lambda", metric).values())
        assert watched == FUNCTIONS, metric


def test_every_dead_letter_queue_alarms_on_a_message() -> None:
    alarms = _alarms_on("AWS/SQS", "ApproximateNumberOfMessagesVisible").values()
    assert sorted(get_att(a["Dimensions"][0]["Value"]) for a in alarms) == [(q, "QueueName") for q in QUEUES]
    for alarm in alarms:
        assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (0, "GreaterThanThreshold")


def test_meter_stalled_alarm() -> None:
    (alarm,) = _alarms_on(mn.DEFAULT_NAMESPACE, mn.METERED_INTERVALS).values()
    assert alarm["Dimensions"] == [{"Name": "Region", "Value": {"Ref": "AWS::Region"}}]
    assert (alarm["Statistic"], alarm["Period"], alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"]) == ("Sum", 3600, 3, 3)
    assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (1, "LessThanThreshold")
    assert alarm["TreatMissingData"] == "breaching"  # a meter that emits nothing at all is stalled too


def test_unallocated_gpus_alarm_uses_the_region_level_metric() -> None:
    (alarm,) = _alarms_on(mn.DEFAULT_NAMESPACE, mn.ENDPOINT_GPUS_FREE).values()
    assert alarm["Dimensions"] == [{"Name": "Region", "Value": {"Ref": "AWS::Region"}}]
    assert ref(alarm["Threshold"]) == "UnallocatedGpuAlarmThreshold"
    assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
    assert "Metrics" not in alarm  # alarms cannot evaluate SEARCH


def test_meter_held_alarm_fires_after_the_configured_hours_of_unpriced_resources() -> None:
    alarm = ALARMS["MeterHeldAlarm"]
    assert (alarm["Namespace"], alarm["MetricName"]) == ("Spendwatch", "UnpricedResources")
    assert ref(alarm["EvaluationPeriods"]) == ref(alarm["DatapointsToAlarm"]) == "UnpricedAlarmHours"
    assert (alarm["Period"], alarm["Threshold"], alarm["ComparisonOperator"]) == (3600, 0, "GreaterThanThreshold")


def test_every_alarm_notifies_the_topic_under_the_stack_name() -> None:
    assert len(ALARMS) == 2 * len(FUNCTIONS) + len(QUEUES) + METRIC_ALARMS + ORGANIZATION_RUN_ALARMS
    for name, alarm in ALARMS.items():
        assert {"Ref": "NotificationsTopic"} in alarm["AlarmActions"], name
        # The key and topic policies let CloudWatch publish for alarms named ${AWS::StackName}-*.
        assert alarm["AlarmName"]["Fn::Sub"].startswith("${AWS::StackName}-"), name


def dashboard(organization: bool = False, remediation: bool = False) -> dict[str, Any]:
    """The dashboard's body as CloudFormation makes it, OrganizationMode off or on, Remediation report or apply."""
    body, variables = props("SpendwatchDashboard")["DashboardBody"]["Fn::Sub"]
    assert isinstance(body, str)

    def resolve(value: Any) -> str:
        if isinstance(value, str):
            return value
        if set(value) == {"Fn::If"}:
            condition, then, otherwise = value["Fn::If"]
            assert condition in ("IsOrganization", "RemediationApply"), condition
            return resolve(then if (organization if condition == "IsOrganization" else remediation) else otherwise)
        assert set(value) == {"Fn::Sub"}, value
        assert isinstance(value["Fn::Sub"], str), value
        return re.sub(r"\$\{([^}]+)\}", substitute, value["Fn::Sub"])

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in variables:
            return resolve(variables[name])
        if name in ("AWS::Region", "AWS::StackName"):
            return {"AWS::Region": "eu-west-1", "AWS::StackName": "spendwatch"}[name]
        if name.endswith(".Arn"):
            alarm = name[: -len(".Arn")]
            assert alarm in ALARMS, name
            assert organization or RESOURCES[alarm].get("Condition") != "IsOrganization", f"{name}: not created when off"
            assert remediation or RESOURCES[alarm].get("Condition") != "RemediationApply", f"{name}: not created on report"
            return f"arn:aws:cloudwatch:eu-west-1:123456789012:alarm:{name}"
        return str(PARAMETERS[name]["Default"])

    loaded: dict[str, Any] = json.loads(re.sub(r"\$\{([^}]+)\}", substitute, body))
    return loaded


@pytest.mark.parametrize("organization", [False, True], ids=["single-account", "organization"])
def test_dashboard_uses_spendwatch_metrics_without_naming_any_endpoint(organization: bool) -> None:
    # The organization widgets search the cost meter's AccountCostUsd (per AccountId and Region) and the fan-out's
    # FailedTargets (per Task).
    organization_metrics = {"AccountCostUsd", "FailedTargets"}
    known = {v for k, v in vars(mn).items() if k.isupper() and isinstance(v, str)} | organization_metrics
    widgets = dashboard(organization)["widgets"]
    searched: set[str] = set()
    for widget in widgets:
        for line in widget["properties"].get("metrics", []):
            first = line[0]
            if isinstance(first, dict):  # a math expression: SEARCH over the metric's name, never a fixed series
                for schema, metric in re.findall(r"SEARCH\('\{([^}]*)\} MetricName=\"(\w+)\"", first["expression"]):
                    assert schema.split(",")[0] == mn.DEFAULT_NAMESPACE
                    assert metric in known, metric
                    searched.add(metric)
            else:  # a fixed series: only run-level metrics, by Region
                namespace, metric, *dims = [x for x in line if isinstance(x, str)]
                assert namespace == mn.DEFAULT_NAMESPACE
                assert metric in known, metric
                assert dims == ["Region", "eu-west-1"], line
    expected = {mn.ENDPOINT_GPUS_USED, mn.ENDPOINT_GPUS_FREE, mn.COMPONENT_COST, mn.UNALLOCATED_COST, mn.IDLE_COST_PER_HOUR}
    assert expected <= searched
    assert (organization_metrics <= searched) is organization
    lines = [line for w in widgets for line in w["properties"].get("metrics", [])]
    expressions = [line[0]["expression"] for line in lines if isinstance(line[0], dict)]
    assert "RUNNING_SUM(SUM(components))" in expressions  # cumulative cost


@pytest.mark.parametrize(
    ("organization", "remediation"),
    [(False, False), (True, False), (False, True)],
    ids=["single-account", "organization", "remediation-apply"],
)
def test_dashboard_shows_every_alarm_and_its_url_is_an_output(organization: bool, remediation: bool) -> None:
    (alarm_widget,) = [w for w in dashboard(organization, remediation)["widgets"] if w["type"] == "alarm"]
    created = [
        a for a in ALARMS if (organization or a not in ORGANIZATION) and (remediation or a not in REMEDIATION_RESOURCES)
    ]
    shown = [arn.rsplit(":", 1)[1].removesuffix(".Arn") for arn in alarm_widget["properties"]["alarms"]]
    assert sorted(shown) == sorted(created)
    url = TEMPLATE["Outputs"]["DashboardUrl"]["Value"]["Fn::Sub"]
    assert url == (
        "https://${AWS::Region}.console.aws.amazon.com/cloudwatch/home?region=${AWS::Region}#dashboards:name=${SpendwatchDashboard}"
    )


def test_outputs() -> None:
    assert set(TEMPLATE["Outputs"]) == {
        "LedgerTableName",
        "NotificationsTopicArn",
        "DashboardUrl",
        "IdleScanFunctionArn",
        "CostMeterFunctionArn",
        "NotifierFunctionArn",
        "SpendwatchLayerArn",
        # OrganizationMode on only
        "FanOutStateMachineArn",
        "IdleScanWorkerRoleArn",
        "CostMeterWorkerRoleArn",
        "NotifierWorkerRoleArn",
        # Remediation apply only
        "RemediationFunctionArn",
    }


def test_every_checkov_skip_gives_its_reason() -> None:
    skips = [
        (name, skip)
        for name, resource in RESOURCES.items()
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", [])
    ]
    assert skips
    for name, skip in skips:
        assert re.fullmatch(r"CKV2?_AWS_\d+", skip["id"]), (name, skip)
        assert len(skip.get("comment", "")) > 40, f"{name}: skip {skip['id']} without a reason"
