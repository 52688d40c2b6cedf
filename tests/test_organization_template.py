"""OrganizationMode (template.yaml) and the member accounts' role (member-role.yaml).

One central stack fans out over every (account, region) of an organization: three schedules start
FanOutStateMachine, which asks TargetsFunction for the targets, runs the task's function once per
target in a Distributed Map (each failure caught, so the others complete) and has TargetsFunction
report the failed ones. The workers read a member account through member-role.yaml's role.

Checked here, the way tests/test_iam.py checks the functions' roles (and with its evaluator,
``Stack``): the template in both modes, crossed with every class of values the other conditions'
parameters can take (``parameter_classes``); the state machine's definition as Step Functions
would run it; every role the fan-out adds granting exactly what it needs (the workers' and
TargetsFunction's through test_iam's ``check_function``, with the calls the fan-out's contract
implies, so these checks do not wait for the code); the member role granting exactly the
member-side adapters' ``IAM_ACTIONS``, trusting only the central worker roles with the external
id. Each checker is held to its job by mutation tests: every wrong grant or broken step must fail
it, for the reason it should.
"""

from __future__ import annotations

import copy
import itertools
import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import yaml

from tests.conftest import REPO
from tests.template import _CfnLoader, load_template
from tests.test_iam import (
    ACCOUNT_RESOURCES,
    NO_VALUE,
    PSEUDO_PARAMETERS,
    RESOURCE_LESS_ACTIONS,
    SAMPLE_VALUES,
    Call,
    CodeNeeds,
    Stack,
    Uninterpretable,
    _accepts,
    _as_list,
    _get_att_target,
    _grants,
    _refs,
    check_function,
    code_index,
)

TEMPLATE = load_template()
RESOURCES: dict[str, Any] = TEMPLATE["Resources"]
PARAMETERS: dict[str, Any] = TEMPLATE["Parameters"]
MEMBER_TEMPLATE_PATH = REPO / "member-role.yaml"

# The state machine's tasks: the function each runs, and the name its role and schedules carry.
TASKS = {"idle-scan": "IdleScanFunction", "cost-meter": "CostMeterFunction", "notify": "NotifierFunction"}
SLUGS = {"IdleScanFunction": "idle-scan", "CostMeterFunction": "cost-meter", "NotifierFunction": "notifier"}
SCHEDULES = {"idle-scan": "FanOutIdleScanSchedule", "cost-meter": "FanOutCostMeterSchedule", "notify": "FanOutNotifierSchedule"}
WORKERS = sorted(TASKS.values())
FAN_OUT_FUNCTIONS = {"TargetsFunction", *WORKERS}
# What the organization adds; all of it under IsOrganization.
ORGANIZATION_RESOURCES = {
    "TargetsLogGroup",
    "TargetsFunctionRole",
    "TargetsFunction",
    "FanOutLogGroup",
    "FanOutStateMachineRole",
    "FanOutStateMachine",
    "FanOutSchedulerRole",
    *SCHEDULES.values(),
    "TargetsErrorsAlarm",
    "TargetsThrottlesAlarm",
    "FanOutFailedTargetsAlarm",
    "FanOutExecutionsFailedAlarm",
}
ORGANIZATION_OUTPUTS = {"FanOutStateMachineArn", "IdleScanWorkerRoleArn", "CostMeterWorkerRoleArn", "NotifierWorkerRoleArn"}
LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"
LAMBDA_SERVICE_ERRORS = {
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
}
STATE_TYPES = {"Task", "Map", "Choice", "Pass", "Succeed", "Fail", "Wait", "Parallel"}
# What Step Functions itself needs from the state machine's role (AWS's documented policies): log delivery to
# CloudWatch Logs and X-Ray, neither scoped to resources.
LOG_DELIVERY_ACTIONS = {
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups",
}
STATE_MACHINE_TRACING_ACTIONS = {
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
}
# The member account's adapters (spendwatch/aws/<name>.py): what a worker calls there. The tagging adapter's
# action is required whether or not its module exists yet.
MEMBER_ADAPTERS = ("sagemaker", "tagging", "cloudwatch", "cloudtrail", "scaling")
MEMBER_ADAPTER_FALLBACK = {"tagging": ("tag:GetResources",)}
# What stays in the central account: a member role granting any of it is wrong.
CENTRAL_SERVICES = {"pricing", "dynamodb", "sns", "ssm", "kms", "sqs", "sts", "organizations", "lambda", "states"}
MEMBER_ACCOUNT = "111122223333"
MEMBER_REGION = "us-east-1"
# The member stack's parameters, naming the central stack test_iam's Stack evaluates (spendwatch, 123456789012).
MEMBER_PARAMETERS = {
    "CentralAccountId": PSEUDO_PARAMETERS["AWS::AccountId"],
    "CentralStackName": PSEUDO_PARAMETERS["AWS::StackName"],
    "ExternalId": "example-external-id",
    "RoleName": "spendwatch-member",
}


def load_member_template() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.load(MEMBER_TEMPLATE_PATH.read_text(), Loader=_CfnLoader)  # a SafeLoader
    return loaded


MEMBER_TEMPLATE = load_member_template()


class OrgStack(Stack):
    """test_iam's ``Stack``, knowing the ARNs of what the fan-out names (functions, the state machine), in an
    account of one's choosing (the member stack runs in a member account)."""

    def __init__(self, template: dict[str, Any], parameters: dict[str, str], pseudo: dict[str, str] | None = None) -> None:
        super().__init__(template, parameters)
        self._pseudo = PSEUDO_PARAMETERS | (pseudo or {})

    def ref(self, name: str) -> Any:
        if name in self._pseudo:
            return self._pseudo[name]
        return super().ref(name)

    def pseudo(self) -> tuple[str, str, str]:
        return self._pseudo["AWS::Partition"], self._pseudo["AWS::Region"], self._pseudo["AWS::AccountId"]

    def reference(self, logical: str) -> str:
        kind = self.resources.get(logical, {}).get("Type")
        if kind == "AWS::StepFunctions::StateMachine":
            if not self.created(logical):
                raise Uninterpretable(f"{logical} is named but not created for these parameter values")
            partition, region, account = self.pseudo()
            return f"arn:{partition}:states:{region}:{account}:stateMachine:{self._name(logical, 'StateMachineName')}"
        return super().reference(logical)

    def get_att(self, logical: str, attribute: str) -> str:
        kind = self.resources.get(logical, {}).get("Type")
        partition, region, account = self.pseudo()
        if kind == "AWS::Serverless::Function" and attribute == "Arn":
            return f"arn:{partition}:lambda:{region}:{account}:function:{self.reference(logical)}"
        if kind == "AWS::CloudWatch::Alarm" and attribute == "Arn":
            return f"arn:{partition}:cloudwatch:{region}:{account}:alarm:{self.reference(logical)}"
        return super().get_att(logical, attribute)


def defaults(template: dict[str, Any] = TEMPLATE) -> dict[str, str]:
    return {name: str(p.get("Default", "")) for name, p in template.get("Parameters", {}).items()}


def org_values(**overrides: str) -> dict[str, str]:
    """The defaults with OrganizationMode on (and the external id it requires)."""
    return defaults() | {"OrganizationMode": "on", "MemberExternalId": "example-external-id"} | overrides


def parameter_classes(template: dict[str, Any] = TEMPLATE) -> list[dict[str, str]]:
    """Every combination of the conditions' parameters, one value per class: the values test_iam tries
    (AllowedValues, or the default and the samples the pattern accepts), grouped by the truth of every
    condition they decide. Two values of one class make the same resources, statements and branches, so
    this crosses OrganizationMode with everything the other conditions can be, in a few hundred sets
    instead of tens of thousands."""
    parameters = template["Parameters"]
    base = defaults(template)
    conditions = template["Conditions"]
    varying = sorted(set(_refs(conditions)) & set(parameters))
    choices = []
    for name in varying:
        parameter = parameters[name]
        if "AllowedValues" in parameter:
            values = [str(v) for v in parameter["AllowedValues"]]
        else:
            values = [v for v in dict.fromkeys((base[name], *SAMPLE_VALUES)) if _accepts(parameter, v)]
        classes: dict[tuple[bool, ...], str] = {}
        for value in values:
            stack = Stack(template, base | {name: value})
            classes.setdefault(tuple(stack.condition(c) for c in sorted(conditions)), value)
        choices.append(list(classes.values()))
    return [base | dict(zip(varying, combination, strict=True)) for combination in itertools.product(*choices)]


PARAMETER_CLASSES = parameter_classes()


def _statements(stack: Stack, role: str) -> list[dict[str, Any]]:
    """A role's resolved policy statements (its trust policy aside)."""
    policies = stack.value(stack.resources[role]["Properties"].get("Policies", []))
    return [s for policy in policies for s in _as_list(policy["PolicyDocument"]["Statement"])]


def _pairs(stack: Stack, role: str) -> tuple[set[tuple[str, str]], list[str]]:
    grants, trouble = _grants(stack, role)
    return {pair for grant in grants for pair in itertools.product(grant.actions, grant.resources)}, trouble


def _sub_text(value: Any) -> str:
    assert isinstance(value, dict), value
    assert set(value) == {"Fn::Sub"}, value
    text = value["Fn::Sub"]
    assert isinstance(text, str), text
    return text


# -- parameters, the rule, conditions ----------------------------------------------------------------


def test_organization_parameters_and_their_defaults() -> None:
    """Off by default (single-account stays as it was); every parameter validated as AWS would take it."""
    p = PARAMETERS
    assert (p["OrganizationMode"]["Default"], p["OrganizationMode"]["AllowedValues"]) == ("off", ["off", "on"])
    assert p["MemberRoleName"]["Default"] == "spendwatch-member" == MEMBER_TEMPLATE["Parameters"]["RoleName"]["Default"]
    for name in ("MemberExternalId", "OrganizationRegions", "AccountsParameterName", "OrganizationId"):
        assert p[name]["Default"] == "", name
    concurrency = p["FanOutConcurrency"]
    assert (concurrency["Type"], concurrency["Default"], concurrency["MinValue"], concurrency["MaxValue"]) == (
        "Number",
        10,
        1,
        100,
    )
    cases = {
        "MemberRoleName": (["spendwatch-member", "a+b=c,d.e@f-g"], ["team/spendwatch", "", "x" * 65]),
        "MemberExternalId": (["", "example-external-id", "a:b/c"], ["x", "two words"]),
        "OrganizationRegions": (
            ["", "us-east-1", "us-east-1,eu-west-1,ap-southeast-2"],
            ["us-east-1, eu-west-1", "us-east-1,", "US-EAST-1"],
        ),
        "AccountsParameterName": (["", "spendwatch-accounts", "/spendwatch/accounts"], ["a b", "accounts*"]),
        "OrganizationId": (["", "o-a1b2c3d4e5"], ["o-short", "r-a1b2c3d4e5", "o-A1B2C3D4E5"]),
    }
    for name, (good, bad) in cases.items():
        for value in good:
            assert _accepts(p[name], value), (name, value)
        for value in bad:
            assert not _accepts(p[name], value), (name, value)
    # The member stack accepts the external ids the central one passes.
    for value in ("example-external-id", "a:b/c"):
        assert _accepts(MEMBER_TEMPLATE["Parameters"]["ExternalId"], value)


def _rule_holds(values: dict[str, str]) -> bool:
    (rule,) = TEMPLATE["Rules"].values()
    stack = Stack(TEMPLATE, values)
    if not stack._truth(rule["RuleCondition"]):
        return True
    return all(stack._truth(assertion["Assert"]) for assertion in rule["Assertions"])


def test_organization_mode_requires_an_external_id() -> None:
    """A Rule (checked by CloudFormation before anything is created): on without MemberExternalId fails."""
    assert not _rule_holds(org_values(MemberExternalId=""))
    assert _rule_holds(org_values(MemberExternalId="example-external-id"))
    assert _rule_holds(defaults())  # off: no external id needed
    assert _rule_holds(defaults() | {"MemberExternalId": "unused-when-off"})


def test_conditions() -> None:
    conditions = TEMPLATE["Conditions"]
    assert conditions["IsOrganization"] == {"Fn::Equals": [{"Ref": "OrganizationMode"}, "on"]}
    for name, values in {
        "HasAccountsParameter": {"": False, "accounts": True, "/spendwatch/accounts": True},
        "AccountsParameterIsPath": {"accounts": False, "/spendwatch/accounts": True},
        "HasOrganizationRegions": {"": False, "us-east-1": True},
        "HasOrganizationId": {"": False, "o-a1b2c3d4e5": True},
    }.items():
        parameter = sorted(set(_refs(conditions[name])))[0]
        for value, truth in values.items():
            assert Stack(TEMPLATE, org_values(**{parameter: value})).condition(name) is truth, (name, value)


def test_parameter_classes_cross_organization_mode_with_every_other_condition() -> None:
    assert {v["OrganizationMode"] for v in PARAMETER_CLASSES} == {"off", "on"}
    for name in TEMPLATE["Conditions"]:
        assert {Stack(TEMPLATE, v).condition(name) for v in PARAMETER_CLASSES} == {True, False}, name


# -- both modes, crossed with every other condition ---------------------------------------------------


def _assume_role_statements(stack: Stack) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for logical, resource in stack.resources.items():
        if resource["Type"] == "AWS::IAM::Role" and stack.created(logical):
            for statement in _statements(stack, logical):
                if any(str(a).startswith("sts:") for a in _as_list(statement.get("Action", []))):
                    found.append((logical, statement))
    return found


@pytest.mark.parametrize("mode", ["off", "on"])
def test_each_mode_creates_what_it_should(mode: str) -> None:
    """Off: no state machine, no targets function, no sts:AssumeRole in any role, the functions' own schedules
    enabled, one run at a time, unnamed roles. On: the state machine and its schedules, the functions' own
    schedules disabled, FanOutConcurrency runs each, named worker roles that may assume only the member role."""
    checked = 0
    for values in PARAMETER_CLASSES:
        if values["OrganizationMode"] != mode:
            continue
        checked += 1
        stack = OrgStack(TEMPLATE, values)
        on = mode == "on"
        created = {k for k in RESOURCES if stack.created(k)}
        assert created & ORGANIZATION_RESOURCES == (ORGANIZATION_RESOURCES if on else set())
        kinds = {RESOURCES[k]["Type"] for k in created}
        assert ("AWS::StepFunctions::StateMachine" in kinds) is on
        assert ("AWS::Scheduler::Schedule" in kinds) is on
        outputs = {k for k, o in TEMPLATE["Outputs"].items() if "Condition" not in o or stack.condition(o["Condition"])}
        assert outputs & ORGANIZATION_OUTPUTS == (ORGANIZATION_OUTPUTS if on else set())
        for function in WORKERS:
            p = RESOURCES[function]["Properties"]
            (event,) = p["Events"].values()
            assert stack.value(event["Properties"]["State"]) == ("DISABLED" if on else "ENABLED")
            concurrency = stack.value(p["ReservedConcurrentExecutions"])
            assert str(concurrency) == (values["FanOutConcurrency"] if on else "1")
            role = f"{function}Role"
            assert _get_att_target(p["Role"]) == (role, "Arn")
            name = stack.value(RESOURCES[role]["Properties"]["RoleName"])
            assert name == (f"spendwatch-{SLUGS[function]}-worker" if on else NO_VALUE)
        assume = _assume_role_statements(stack)
        if not on:
            assert assume == [], assume
            continue
        assert sorted(role for role, _ in assume) == sorted(f"{f}Role" for f in WORKERS)
        for _, statement in assume:
            assert _as_list(statement["Action"]) == ["sts:AssumeRole"]
            assert statement["Resource"] == f"arn:aws:iam::*:role/{values['MemberRoleName']}"
            org = values["OrganizationId"]
            assert statement.get("Condition") == ({"StringEquals": {"aws:ResourceOrgID": org}} if org else None)
        for schedule in SCHEDULES.values():
            assert stack.value(RESOURCES[schedule]["Properties"]["State"]) == "ENABLED"
    assert checked


def test_the_organization_resources_are_all_conditional() -> None:
    conditional = {k for k, v in RESOURCES.items() if v.get("Condition") == "IsOrganization"}
    assert conditional == ORGANIZATION_RESOURCES
    assert {k for k, v in TEMPLATE["Outputs"].items() if v.get("Condition") == "IsOrganization"} == ORGANIZATION_OUTPUTS
    # Nothing created in both modes names a resource created only in one (CloudFormation would reject it when off).
    for logical, resource in RESOURCES.items():
        stack = OrgStack(TEMPLATE, defaults())
        if logical in ORGANIZATION_RESOURCES or not stack.created(logical):  # e.g. Remediation apply's resources
            continue
        stack.value(resource.get("Properties", {}))  # raises Uninterpretable on a reference to what off does not create


# -- the state machine's definition -------------------------------------------------------------------


def definition(template: dict[str, Any] = TEMPLATE, values: dict[str, str] | None = None) -> dict[str, Any]:
    """FanOutStateMachine's definition as Step Functions receives it (the Fn::Sub text, substituted)."""
    stack = OrgStack(template, values or org_values())
    props = template["Resources"]["FanOutStateMachine"]["Properties"]
    assert "DefinitionString" in props
    assert "Definition" not in props
    loaded: dict[str, Any] = json.loads(stack.value(props["DefinitionString"]))
    return loaded


def _states(machine: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any], dict[str, Any]]]:
    """(path, name, state, the States it belongs to) for every state, nested item processors included."""

    def walk(block: dict[str, Any], path: str) -> Iterator[tuple[str, str, dict[str, Any], dict[str, Any]]]:
        for name, state in block["States"].items():
            yield path, name, state, block
            if state.get("Type") == "Map":
                yield from walk(state["ItemProcessor"], f"{path}{name}/")

    yield from walk(machine, "")


def _function_arn(logical: str, values: dict[str, str] | None = None) -> str:
    return OrgStack(TEMPLATE, values or org_values()).get_att(logical, "Arn")


def asl_failures(machine: dict[str, Any]) -> list[str]:
    """What Step Functions would reject, or never run: unknown state types, transitions to nowhere, states no
    path reaches, states that neither go on nor end, a Map without its item processor."""
    failures: list[str] = []

    def check(block: dict[str, Any], path: str) -> None:
        states = block.get("States", {})
        if block.get("StartAt") not in states:
            failures.append(f"{path or '/'}: StartAt {block.get('StartAt')!r} is no state")
            return
        targets: dict[str, list[str]] = {}
        for name, state in states.items():
            kind = state.get("Type")
            if kind not in STATE_TYPES:
                failures.append(f"{path}{name}: Type {kind!r}")
            nexts = [state["Next"]] if "Next" in state else []
            if kind == "Choice":
                nexts += [c.get("Next") for c in state.get("Choices", [])] + ([state["Default"]] if "Default" in state else [])
            nexts += [c.get("Next") for c in state.get("Catch", [])]
            targets[name] = nexts
            for target in nexts:
                if target not in states:
                    failures.append(f"{path}{name}: goes to {target!r}, no state of its block")
            if kind not in ("Choice", "Succeed", "Fail") and ("Next" in state) == bool(state.get("End")):
                failures.append(f"{path}{name}: needs exactly one of Next and End")
            if kind == "Map":
                if "ItemProcessor" not in state:
                    failures.append(f"{path}{name}: a Map without ItemProcessor")
                else:
                    check(state["ItemProcessor"], f"{path}{name}/")
        reached, pending = set(), [block["StartAt"]]
        while pending:
            name = pending.pop()
            if name in reached or name not in states:
                continue
            reached.add(name)
            pending.extend(targets.get(name, []))
        for name in sorted(set(states) - reached):
            failures.append(f"{path}{name}: no path reaches it")

    check(machine, "")
    return failures


def _task_payload_failures(machine: dict[str, Any], values: dict[str, str]) -> list[str]:
    """The fan-out's contract with the functions: what each step sends and keeps."""
    failures: list[str] = []
    states = machine.get("States", {})
    targets_arn = _function_arn("TargetsFunction", values)
    if machine.get("StartAt") != "ListTargets":
        failures.append(f"StartAt {machine.get('StartAt')!r}, not ListTargets")
    listing = states.get("ListTargets", {})
    expected_list = {
        "FunctionName": targets_arn,
        "Payload": {"source": "spendwatch.fanout", "action": "list", "task.$": "$.task", "scheduled_time.$": "$.scheduled_time"},
    }
    if (listing.get("Type"), listing.get("Resource"), listing.get("Parameters")) != ("Task", LAMBDA_INVOKE, expected_list):
        failures.append(f"ListTargets does not invoke TargetsFunction with the list action: {listing}")
    if listing.get("OutputPath") != "$.Payload" or listing.get("Next") != "EachTarget":
        failures.append("ListTargets must keep the function's answer ($.Payload) and go on to EachTarget")
    each = states.get("EachTarget", {})
    expected_item = {
        "source": "spendwatch.fanout",
        "task.$": "$.task",
        "scheduled_time.$": "$.scheduled_time",
        "target.$": "$$.Map.Item.Value",
    }
    if each.get("Type") != "Map" or each.get("ItemsPath") != "$.targets" or each.get("ItemSelector") != expected_item:
        failures.append(f"EachTarget must map $.targets to {expected_item}")
    processor = each.get("ItemProcessor", {})
    if processor.get("ProcessorConfig") != {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}:
        failures.append(f"EachTarget is no Distributed Map of Standard child executions: {processor.get('ProcessorConfig')}")
    concurrency = each.get("MaxConcurrency")
    if not (
        isinstance(concurrency, int) and not isinstance(concurrency, bool) and concurrency == int(values["FanOutConcurrency"])
    ):
        failures.append(f"EachTarget MaxConcurrency {concurrency!r}: must be the number FanOutConcurrency")
    if each.get("ToleratedFailurePercentage") != 100:
        failures.append(
            "EachTarget must tolerate every item failing (ToleratedFailurePercentage 100): one account never stops the others"
        )
    if each.get("ResultPath") != "$.results" or each.get("Next") != "Report":
        failures.append("EachTarget's results go to $.results, then Report")
    failures += _item_failures(processor, values)
    report = states.get("Report", {})
    expected_report = {
        "FunctionName": targets_arn,
        "Payload": {
            "source": "spendwatch.fanout",
            "action": "report",
            "task.$": "$.task",
            "scheduled_time.$": "$.scheduled_time",
            "results.$": "$.results",
        },
    }
    if (report.get("Type"), report.get("Resource"), report.get("Parameters")) != ("Task", LAMBDA_INVOKE, expected_report):
        failures.append(f"Report does not invoke TargetsFunction with the report action and the results: {report}")
    if report.get("End") is not True:
        failures.append("Report must end the execution")
    for name in ("ListTargets", "Report"):
        failures += _retry_failures(name, states.get(name, {}))
    return failures


def _retry_failures(name: str, state: dict[str, Any]) -> list[str]:
    """Retried on Lambda's service errors and on the function's failure: two more attempts, backing off."""
    failures = []
    covered: set[str] = set()
    for retrier in state.get("Retry", []):
        covered |= set(retrier.get("ErrorEquals", []))
        if retrier.get("MaxAttempts") != 2 or retrier.get("BackoffRate", 1) <= 1 or retrier.get("IntervalSeconds", 0) < 1:
            failures.append(f"{name}: retrier {retrier} is not two more attempts with backoff")
    if not (LAMBDA_SERVICE_ERRORS | {"States.TaskFailed"}) <= covered:
        failures.append(f"{name}: retries {sorted(covered)}, not Lambda's service errors and States.TaskFailed")
    return failures


def _item_failures(processor: dict[str, Any], values: dict[str, str]) -> list[str]:
    """Inside each item: the task's function, retried, its failure caught into {target, error}."""
    failures: list[str] = []
    states = processor.get("States", {})
    choice = states.get(processor.get("StartAt", ""), {})
    if choice.get("Type") != "Choice":
        failures.append("each item starts with a Choice on the task")
        return failures
    routes = {c.get("StringEquals"): c.get("Next") for c in choice.get("Choices", []) if c.get("Variable") == "$.task"}
    if set(routes) != set(TASKS) or len(choice.get("Choices", [])) != len(TASKS):
        failures.append(f"the Choice routes {sorted(map(str, routes))}, not the tasks {sorted(TASKS)}")
    for task, function in TASKS.items():
        name = routes.get(task)
        state = states.get(name or "", {})
        expected = {"FunctionName": _function_arn(function, values), "Payload.$": "$"}
        if (state.get("Type"), state.get("Resource"), state.get("Parameters")) != ("Task", LAMBDA_INVOKE, expected):
            failures.append(f"task {task} does not invoke {function} with the item: {state}")
            continue
        failures += _retry_failures(name or task, state)
        if state.get("ResultSelector") != {"result.$": "$.Payload"} or state.get("ResultPath") != "$.outcome":
            failures.append(f"{name}: keeps the function's answer (its Payload) as $.outcome.result")
        catches = state.get("Catch", [])
        if [c.get("ErrorEquals") for c in catches] != [["States.ALL"]] or catches[0].get("ResultPath") != "$.error":
            failures.append(f"{name}: must catch States.ALL into $.error")
        else:
            failed = states.get(catches[0].get("Next", ""), {})
            wanted = {"Type": "Pass", "Parameters": {"target.$": "$.target", "error.$": "$.error"}, "End": True}
            if failed != wanted:
                failures.append(f"{name}: a caught failure must end the item as {{target, error}}, not {failed}")
        succeeded = states.get(state.get("Next", ""), {})
        wanted = {"Type": "Pass", "Parameters": {"target.$": "$.target", "result.$": "$.outcome.result"}, "End": True}
        if succeeded != wanted:
            failures.append(f"{name}: success must end the item as {{target, result}}, not {succeeded}")
    default = states.get(choice.get("Default", ""), {})
    if default.get("Type") != "Pass" or set(default.get("Parameters", {})) != {"target.$", "error"} or not default.get("End"):
        failures.append("an unknown task must end the item as {target, error} too (Choice Default)")
    return failures


def state_machine_failures(template: dict[str, Any], values: dict[str, str] | None = None) -> list[str]:
    """Everything wrong with the fan-out: its definition, its resource, its role (exactly the four functions,
    its own child executions, log delivery, X-Ray). By default with a FanOutConcurrency no one writes down."""
    values = values or org_values(FanOutConcurrency="37")
    try:
        machine = definition(template, values)
    except (Uninterpretable, json.JSONDecodeError) as exc:
        return [f"the definition cannot be read: {exc}"]
    failures = asl_failures(machine) + _task_payload_failures(machine, values)
    stack = OrgStack(template, values)
    resources = template["Resources"]
    props = resources["FanOutStateMachine"]["Properties"]
    name = stack.value(props.get("StateMachineName"))
    if name != f"{PSEUDO_PARAMETERS['AWS::StackName']}-fanout":
        failures.append(f"StateMachineName {name!r}: the role builds the ARN from ${{AWS::StackName}}-fanout")
    if props.get("StateMachineType", "STANDARD") != "STANDARD":
        failures.append("a Distributed Map runs in a Standard state machine")
    if stack.value(props.get("TracingConfiguration")) != {"Enabled": True}:
        failures.append("tracing is off")
    logging = stack.value(props.get("LoggingConfiguration", {}))
    group = stack.get_att("FanOutLogGroup", "Arn")
    if logging.get("Destinations") != [{"CloudWatchLogsLogGroup": {"LogGroupArn": group}}] or logging.get("Level") in (
        None,
        "OFF",
    ):
        failures.append(f"it must log to its own log group: {logging}")
    if _get_att_target(props.get("RoleArn")) != ("FanOutStateMachineRole", "Arn"):
        failures.append("RoleArn is not FanOutStateMachineRole")
    role = resources["FanOutStateMachineRole"]
    if json.dumps({"Ref": "FanOutStateMachine"}) in json.dumps(role) or '"FanOutStateMachine.' in json.dumps(role):
        failures.append("the role names the state machine, which depends on the role: a circular dependency")
    trust = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    if [(s.get("Effect"), s.get("Principal"), s.get("Action")) for s in trust] != [
        ("Allow", {"Service": "states.amazonaws.com"}, "sts:AssumeRole")
    ]:
        failures.append(f"only Step Functions may assume its role: {trust}")
    partition, region, account = stack.pseudo()
    arn = f"arn:{partition}:states:{region}:{account}"
    needed = {("lambda:InvokeFunction", _function_arn(f, values)) for f in sorted(FAN_OUT_FUNCTIONS)}
    needed |= {("states:StartExecution", f"{arn}:stateMachine:{name}")}
    needed |= {(a, f"{arn}:execution:{name}/*") for a in ("states:DescribeExecution", "states:StopExecution")}
    needed |= {(a, "*") for a in LOG_DELIVERY_ACTIONS | STATE_MACHINE_TRACING_ACTIONS}
    failures += _exact("FanOutStateMachineRole", stack, needed)
    invoked = {
        s["Parameters"]["FunctionName"]
        for _, _, s, _ in _states(machine)
        if s.get("Type") == "Task" and isinstance(s.get("Parameters"), dict) and "FunctionName" in s["Parameters"]
    }
    if invoked != {_function_arn(f, values) for f in FAN_OUT_FUNCTIONS}:
        failures.append(f"the definition invokes {sorted(invoked)}, not exactly the four functions")
    return failures


def _exact(role: str, stack: Stack, needed: set[tuple[str, str]]) -> list[str]:
    try:
        granted, trouble = _pairs(stack, role)
    except Uninterpretable as exc:
        return [f"{role}: cannot interpret {exc}"]
    failures = list(trouble)
    failures += [f"{role} lacks {a} on {r}" for a, r in sorted(needed - granted)]
    failures += [f"{role} grants {a} on {r}, which nothing needs" for a, r in sorted(granted - needed)]
    return failures


def test_the_definition_is_a_state_machine_step_functions_runs() -> None:
    machine = definition()
    assert asl_failures(machine) == []
    assert [name for _, name, _, _ in _states(machine) if name in ("ListTargets", "EachTarget", "Report")] == [
        "ListTargets",
        "EachTarget",
        "Report",
    ]


def test_max_concurrency_is_the_parameter_as_a_number() -> None:
    """A Definition object would substitute FanOutConcurrency as the string "10", which Step Functions rejects:
    the definition is text, and the parameter stands unquoted in it."""
    text = _sub_text(RESOURCES["FanOutStateMachine"]["Properties"]["DefinitionString"])
    assert '"MaxConcurrency": ${FanOutConcurrency},' in text
    for concurrency in ("1", "10", "100"):
        assert definition(values=org_values(FanOutConcurrency=concurrency))["States"]["EachTarget"]["MaxConcurrency"] == int(
            concurrency
        )


@pytest.mark.parametrize("values", [org_values(), org_values(FanOutConcurrency="37", OrganizationId="o-a1b2c3d4e5")])
def test_the_fan_out_is_what_the_contract_says(values: dict[str, str]) -> None:
    failures = state_machine_failures(TEMPLATE, values)
    assert not failures, "\n".join(failures)


def test_every_task_has_its_schedule_its_alarm_series_and_its_sample_event() -> None:
    machine = definition()
    choice = machine["States"]["EachTarget"]["ItemProcessor"]["States"]["WhichTask"]
    assert {c["StringEquals"] for c in choice["Choices"]} == set(TASKS)
    tasks = {json.loads(RESOURCES[s]["Properties"]["Target"]["Input"])["task"] for s in SCHEDULES.values()}
    assert tasks == set(TASKS)
    alarm = RESOURCES["FanOutFailedTargetsAlarm"]["Properties"]
    series = [m["MetricStat"]["Metric"] for m in alarm["Metrics"] if "MetricStat" in m]
    assert sorted(d["Value"] for m in series for d in m["Dimensions"]) == sorted(TASKS)


# -- the schedules --------------------------------------------------------------------------------------


@pytest.mark.parametrize("task", sorted(TASKS))
def test_organization_schedule_mirrors_the_functions_own(task: str) -> None:
    """Same expression, time zone, retries and dead-letter queue as the function's own schedule (disabled when
    on); the state machine as target, started with the task and the scheduled time."""
    schedule = RESOURCES[SCHEDULES[task]]["Properties"]
    (own,) = RESOURCES[TASKS[task]]["Properties"]["Events"].values()
    own = own["Properties"]
    assert schedule["ScheduleExpression"] == own["ScheduleExpression"]
    assert schedule["ScheduleExpressionTimezone"] == own["ScheduleExpressionTimezone"]
    assert schedule["FlexibleTimeWindow"] == {"Mode": "OFF"}
    assert schedule["State"] == "ENABLED"
    assert own["State"] == {"Fn::If": ["IsOrganization", "DISABLED", "ENABLED"]}
    target = schedule["Target"]
    assert target["RetryPolicy"] == own["RetryPolicy"]
    assert target["DeadLetterConfig"] == own["DeadLetterConfig"]
    assert target["Arn"] == {"Ref": "FanOutStateMachine"}
    assert _get_att_target(target["RoleArn"]) == ("FanOutSchedulerRole", "Arn")
    assert json.loads(target["Input"]) == {
        "source": "spendwatch.fanout",
        "task": task,
        "scheduled_time": "<aws.scheduler.scheduled-time>",
    }
    # Schedule names are unique per account and region: neither the functions' own nor another stack's.
    assert schedule["Name"] == {"Fn::Sub": "${AWS::StackName}-fanout-" + SLUGS[TASKS[task]]}
    assert schedule["Name"] != own["Name"]


def scheduler_failures(template: dict[str, Any], values: dict[str, str] | None = None) -> list[str]:
    stack = OrgStack(template, values or org_values())
    role = template["Resources"]["FanOutSchedulerRole"]["Properties"]
    failures = []
    trust = role["AssumeRolePolicyDocument"]["Statement"]
    if [(s.get("Effect"), s.get("Principal"), s.get("Action")) for s in trust] != [
        ("Allow", {"Service": "scheduler.amazonaws.com"}, "sts:AssumeRole")
    ]:
        failures.append(f"only EventBridge Scheduler may assume FanOutSchedulerRole: {trust}")
    needed = {
        ("states:StartExecution", stack.reference("FanOutStateMachine")),
        ("sqs:SendMessage", stack.get_att("ScheduleDeadLetterQueue", "Arn")),  # dead letters go with the schedule's role
    }
    return failures + _exact("FanOutSchedulerRole", stack, needed)


def test_the_scheduler_may_start_the_state_machine_and_nothing_else() -> None:
    assert scheduler_failures(TEMPLATE) == []


# -- the functions' roles in organization mode (test_iam's checker, with the fan-out's calls) ----------


def fan_out_needs(logical_id: str) -> CodeNeeds:
    """What the fan-out's contract says a function calls, beyond its single-account needs (test_iam checks the
    code itself): a worker assumes the member role; TargetsFunction lists the organization's accounts, reads the
    accounts parameter and asks who it is."""
    from tests.test_iam import needs_of

    if logical_id == "TargetsFunction":
        calls = {"organizations:ListAccounts", "ssm:GetParameter", "sts:GetCallerIdentity"}
        return CodeNeeds(calls={Call(a, "the fan-out contract") for a in calls})
    real = needs_of(logical_id)
    needs = CodeNeeds(calls=set(real.calls), writes=set(real.writes), writers=dict(real.writers))
    needs.index_queries = set(real.index_queries)
    needs.calls.add(Call("sts:AssumeRole", "the fan-out contract"))
    return needs


@pytest.mark.parametrize("logical_id", sorted(FAN_OUT_FUNCTIONS))
def test_role_grants_exactly_what_the_fan_out_needs(logical_id: str) -> None:
    """test_iam's checker over every value set (both modes): a worker may assume the member role, in any
    account (of the organization, when OrganizationId is given), only when on; TargetsFunction lists the
    accounts and reads the accounts parameter only when it is given. (The real code's needs are test_iam's.)"""
    failures = check_function(copy.deepcopy(TEMPLATE), logical_id, fan_out_needs(logical_id))
    assert not failures, "\n".join(failures)


# -- alarms, dashboard, outputs, events -----------------------------------------------------------------


def test_failed_targets_alarm() -> None:
    """FailedTargets > 0 in any task's series (it carries the dimension Task: the alarm sums them, as alarms take
    metric math but not SEARCH), to the topic, only when on."""
    alarm = RESOURCES["FanOutFailedTargetsAlarm"]
    assert alarm["Condition"] == "IsOrganization"
    p = alarm["Properties"]
    (total,) = [m for m in p["Metrics"] if m.get("ReturnData")]
    series = {m["Id"]: m["MetricStat"] for m in p["Metrics"] if "MetricStat" in m}
    assert total["Expression"] == f"SUM([{', '.join(series)}])"
    for stat in series.values():
        assert (stat["Metric"]["Namespace"], stat["Metric"]["MetricName"]) == ("Spendwatch", "FailedTargets")
        assert [d["Name"] for d in stat["Metric"]["Dimensions"]] == ["Task"]
        assert stat["Stat"] == "Sum"
    assert (p["Threshold"], p["ComparisonOperator"], p["TreatMissingData"]) == (0, "GreaterThanThreshold", "notBreaching")
    assert p["AlarmActions"] == [{"Ref": "NotificationsTopic"}]
    assert p["AlarmName"] == {"Fn::Sub": "${AWS::StackName}-fanout-failed-targets"}


def test_failed_runs_alarm() -> None:
    p = RESOURCES["FanOutExecutionsFailedAlarm"]["Properties"]
    assert (p["Namespace"], p["MetricName"]) == ("AWS/States", "ExecutionsFailed")
    assert p["Dimensions"] == [{"Name": "StateMachineArn", "Value": {"Ref": "FanOutStateMachine"}}]
    assert p["AlarmActions"] == [{"Ref": "NotificationsTopic"}]


def test_outputs_name_the_roles_the_member_role_trusts() -> None:
    """The worker roles' ARNs (outputs) are exactly the principals member-role.yaml admits, for the same stack."""
    stack = OrgStack(TEMPLATE, org_values())
    outputs = {k: stack.value(TEMPLATE["Outputs"][k]["Value"]) for k in ORGANIZATION_OUTPUTS}
    assert outputs["FanOutStateMachineArn"] == stack.reference("FanOutStateMachine")
    workers = sorted(outputs[f"{f.removesuffix('Function')}WorkerRoleArn"] for f in WORKERS)
    assert workers == sorted(f"arn:aws:iam::123456789012:role/spendwatch-{s}-worker" for s in SLUGS.values())
    member = OrgStack(MEMBER_TEMPLATE, defaults(MEMBER_TEMPLATE) | MEMBER_PARAMETERS, {"AWS::AccountId": MEMBER_ACCOUNT})
    assert sorted(member.value(_trust(MEMBER_TEMPLATE)["Condition"]["ArnEquals"]["aws:PrincipalArn"])) == workers


def _event(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((REPO / "events" / f"fanout_{name}.json").read_text())
    return loaded


@pytest.mark.parametrize("task", sorted(TASKS))
def test_sample_run_event_is_what_the_schedule_sends(task: str) -> None:
    sample = _event(SLUGS[TASKS[task]].replace("-", "_"))
    sent = json.loads(RESOURCES[SCHEDULES[task]]["Properties"]["Target"]["Input"])
    assert {k: v for k, v in sample.items() if k != "scheduled_time"} == {k: v for k, v in sent.items() if k != "scheduled_time"}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:00Z", sample["scheduled_time"])


def _payload(template: dict[str, Any], run: dict[str, Any], extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """A Payload template of the definition, filled from a run's state (``key.$`` paths of the form ``$.name``)."""
    state = run | (extra or {})
    out = {}
    for key, value in template.items():
        if key.endswith(".$"):
            assert value.startswith("$."), value
            out[key[:-2]] = state[value[2:]]
        else:
            out[key] = value
    return out


def test_sample_targets_events_are_what_the_state_machine_sends() -> None:
    machine = definition()
    run = _event("idle_scan")
    listing = _event("list")
    assert listing == _payload(machine["States"]["ListTargets"]["Parameters"]["Payload"], run)
    report = _event("report")
    assert report == _payload(machine["States"]["Report"]["Parameters"]["Payload"], run, {"results": report["results"]})
    # Results as the items end: a success {target, result} or a caught failure {target, error: {Error, Cause}}.
    assert {tuple(sorted(r)) for r in report["results"]} == {("result", "target"), ("error", "target")}
    for result in report["results"]:
        assert set(result["target"]) == {"account_id", "region", "role_arn"}
        if "error" in result:
            assert set(result["error"]) == {"Error", "Cause"}
    item = _event("target")
    selector = machine["States"]["EachTarget"]["ItemSelector"]
    assert set(item) == {k.removesuffix(".$") for k in selector}
    assert item["source"] == selector["source"]
    assert set(item["target"]) == {"account_id", "region", "role_arn"}


def test_sample_events_parse_as_the_functions_read_them() -> None:
    """The events' models (spendwatch.lambdas.events) take the samples."""
    events = pytest.importorskip("spendwatch.lambdas.events")
    if not hasattr(events, "FanOutEvent"):
        pytest.skip("spendwatch.lambdas.events.FanOutEvent is not written yet")
    for name in ("list", "report"):
        events.parse_event(_event(name), events.FanOutEvent)
    item = _event("target")
    model = {"idle-scan": events.ScheduledScan, "cost-meter": events.ScheduledMeter, "notify": events.ScheduledNotify}
    parsed = events.parse_event(item, model[item["task"]])
    assert parsed.target is not None


def test_make_lint_template_lints_both_templates_in_both_modes() -> None:
    makefile = (REPO / "Makefile").read_text()
    target = makefile.split("\nlint-template:", 1)[1].split("\n\n", 1)[0]
    assert "cfn-lint template.yaml member-role.yaml" in target
    assert "checkov --file member-role.yaml" in target
    assert "checkov --file $(ORG_LINT_TEMPLATE)" in target  # checkov leaves out resources whose condition is false


# -- member-role.yaml ------------------------------------------------------------------------------------


def member_actions() -> dict[str, tuple[str, ...]]:
    """adapter -> the IAM actions it declares (the member side of a worker)."""
    index = code_index()
    found = {}
    for adapter in MEMBER_ADAPTERS:
        module = index.modules.get(f"spendwatch.aws.{adapter}")
        actions = module.declared_actions() if module is not None else None
        found[adapter] = actions if actions is not None else MEMBER_ADAPTER_FALLBACK[adapter]
    return found


def _trust(template: dict[str, Any]) -> dict[str, Any]:
    (statement,) = template["Resources"]["MemberRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    found: dict[str, Any] = statement
    return found


def member_role_failures(template: dict[str, Any], parameters: dict[str, str] | None = None) -> list[str]:
    """Everything wrong with the member role: its grants against the member-side adapters' IAM_ACTIONS (each on
    the resources test_iam's rules give it, in any region of the member account), its trust (the central
    account, narrowed to the three worker roles, with the external id), its shape."""
    parameters = defaults(template) | MEMBER_PARAMETERS | (parameters or {})
    stack = OrgStack(template, parameters, {"AWS::AccountId": MEMBER_ACCOUNT, "AWS::Region": MEMBER_REGION})
    failures: list[str] = []
    resources = template["Resources"]
    if sorted(resources) != ["MemberRole"] or resources["MemberRole"]["Type"] != "AWS::IAM::Role":
        failures.append(f"member-role.yaml must hold the one role, not {sorted(resources)}")
        return failures
    props = resources["MemberRole"]["Properties"]
    extra = sorted(set(props) - {"RoleName", "Description", "MaxSessionDuration", "AssumeRolePolicyDocument", "Policies"})
    if extra:
        failures.append(f"MemberRole sets {extra}: managed policies, a boundary or tags are not checked here")
    if stack.value(props.get("RoleName")) != parameters["RoleName"]:
        failures.append("the role must be named by RoleName (the central stack's MemberRoleName)")
    if props.get("MaxSessionDuration") != 3600:
        failures.append("MaxSessionDuration must be 3600 (role chaining from Lambda allows an hour at most)")
    partition = "aws"
    needed: set[tuple[str, str]] = set()
    for adapter, actions in member_actions().items():
        for action in actions:
            if action in RESOURCE_LESS_ACTIONS:
                needed.add((action, "*"))
            elif action in ACCOUNT_RESOURCES:
                needed |= {
                    (action, arn.format(partition=partition, region="*", account=MEMBER_ACCOUNT))
                    for arn in ACCOUNT_RESOURCES[action]
                }
            else:
                failures.append(f"{adapter} declares {action}, and no rule here says on which resources")
    failures += _exact("MemberRole", stack, needed)
    try:
        granted, _ = _pairs(stack, "MemberRole")
    except Uninterpretable:
        granted = set()
    central = sorted({a for a, _ in granted if a.split(":", 1)[0] in CENTRAL_SERVICES})
    if central:
        failures.append(f"MemberRole grants {central}: those stay in the central account")
    writes = sorted({a for a, _ in granted if not re.match(r"[a-z-]+:(Describe|List|Get|Lookup)", a)})
    if writes:
        failures.append(f"MemberRole is read-only, yet grants {writes}")
    failures += _trust_failures(stack, props, parameters)
    outputs = template.get("Outputs", {})
    if [_get_att_target(o.get("Value")) for o in outputs.values()] != [("MemberRole", "Arn")]:
        failures.append("the one output is the role's ARN")
    return failures


def _trust_failures(stack: Stack, props: dict[str, Any], parameters: dict[str, str]) -> list[str]:
    failures = []
    try:
        document = stack.value(props["AssumeRolePolicyDocument"])
    except Uninterpretable as exc:
        return [f"the trust policy cannot be interpreted: {exc}"]
    statements = _as_list(document.get("Statement", []))
    if document.get("Version") != "2012-10-17" or len(statements) != 1:
        return [f"the trust policy must be one statement (Version 2012-10-17): {document}"]
    (statement,) = statements
    central = parameters["CentralAccountId"]
    workers = sorted(f"arn:aws:iam::{central}:role/{parameters['CentralStackName']}-{s}-worker" for s in SLUGS.values())
    if set(statement) - {"Sid", "Effect", "Principal", "Action", "Condition"}:
        failures.append(f"the trust statement holds {sorted(statement)}: NotPrincipal or NotAction cannot be interpreted")
    if statement.get("Effect") != "Allow" or _as_list(statement.get("Action")) != ["sts:AssumeRole"]:
        failures.append("the trust allows sts:AssumeRole alone")
    if statement.get("Principal") != {"AWS": f"arn:aws:iam::{central}:root"}:
        failures.append(f"the trust's principal must be the central account alone, not {statement.get('Principal')}")
    condition = statement.get("Condition", {})
    if set(condition) != {"StringEquals", "ArnEquals"}:
        failures.append(f"the trust must require the external id and the worker roles (only), not {sorted(condition)}")
    if condition.get("StringEquals") != {"sts:ExternalId": parameters["ExternalId"]}:
        failures.append(f"the trust must require the external id: {condition.get('StringEquals')}")
    principals = condition.get("ArnEquals", {})
    if set(principals) != {"aws:PrincipalArn"} or sorted(_as_list(principals.get("aws:PrincipalArn"))) != workers:
        failures.append(f"the trust must name exactly the central worker roles {workers}: {principals}")
    return failures


def test_member_role_is_exactly_what_the_member_side_adapters_need() -> None:
    failures = member_role_failures(MEMBER_TEMPLATE)
    assert not failures, "\n".join(failures)


def test_member_adapters_are_the_ones_the_brief_lists() -> None:
    actions = {a for found in member_actions().values() for a in found}
    assert {"tag:GetResources", "cloudtrail:LookupEvents", "cloudwatch:GetMetricData", "sagemaker:DescribeEndpoint"} <= actions
    assert not {a for a in actions if a.split(":", 1)[0] in CENTRAL_SERVICES}


def test_member_role_parameters() -> None:
    p = MEMBER_TEMPLATE["Parameters"]
    assert set(p) == {"CentralAccountId", "CentralStackName", "ExternalId", "RoleName"}
    assert _accepts(p["CentralAccountId"], "123456789012")
    assert not _accepts(p["CentralAccountId"], "12345678901")
    assert p["ExternalId"]["MinLength"] == 2
    # The longest worker role name (<stack>-cost-meter-worker) must fit IAM's 64 characters.
    assert p["CentralStackName"]["MaxLength"] + len("-cost-meter-worker") <= 64


# -- mutations: each checker must fail each wrong thing ---------------------------------------------------


def _member_statement(t: dict[str, Any], sid: str) -> dict[str, Any]:
    statements = t["Resources"]["MemberRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    (found,) = [s for s in statements if s.get("Sid") == sid]
    return found


def _member_statements(t: dict[str, Any]) -> list[Any]:
    found: list[Any] = t["Resources"]["MemberRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    return found


def _widen_member_resource(t: dict[str, Any]) -> None:
    _member_statement(t, "SageMakerEndpoints")["Resource"] = "*"


def _pin_member_region(t: dict[str, Any]) -> None:
    _member_statement(t, "SageMakerEndpointConfigs")["Resource"] = {
        "Fn::Sub": "arn:${AWS::Partition}:sagemaker:${AWS::Region}:${AWS::AccountId}:endpoint-config/*"
    }


def _another_account(t: dict[str, Any]) -> None:
    _member_statement(t, "SageMakerInferenceComponents")["Resource"] = {
        "Fn::Sub": "arn:${AWS::Partition}:sagemaker:*:*:inference-component/*"
    }


def _drop_external_id(t: dict[str, Any]) -> None:
    del _trust(t)["Condition"]["StringEquals"]


def _external_id_written_down(t: dict[str, Any]) -> None:
    _trust(t)["Condition"]["StringEquals"]["sts:ExternalId"] = "spendwatch"


def _external_id_by_pattern(t: dict[str, Any]) -> None:
    condition = _trust(t)["Condition"]
    condition["StringLike"] = {"sts:ExternalId": "*"}
    del condition["StringEquals"]


def _drop_worker_roles(t: dict[str, Any]) -> None:
    del _trust(t)["Condition"]["ArnEquals"]


def _another_principal(t: dict[str, Any]) -> None:
    _trust(t)["Condition"]["ArnEquals"]["aws:PrincipalArn"].append(
        {"Fn::Sub": "arn:${AWS::Partition}:iam::${CentralAccountId}:role/admin"}
    )


def _any_principal(t: dict[str, Any]) -> None:
    _trust(t)["Principal"] = {"AWS": "*"}


def _add_member_action(t: dict[str, Any]) -> None:
    _member_statements(t).append({"Sid": "Prices", "Effect": "Allow", "Action": "pricing:GetProducts", "Resource": "*"})


def _add_write_action(t: dict[str, Any]) -> None:
    statement = _member_statement(t, "SageMakerEndpoints")
    statement["Action"] = [*statement["Action"], "sagemaker:DeleteEndpoint"]


def _drop_member_action(t: dict[str, Any]) -> None:
    _member_statements(t).remove(_member_statement(t, "DeletionHistory"))


def _member_managed_policy(t: dict[str, Any]) -> None:
    t["Resources"]["MemberRole"]["Properties"]["ManagedPolicyArns"] = ["arn:aws:iam::aws:policy/ReadOnlyAccess"]


def _member_deny(t: dict[str, Any]) -> None:
    _member_statements(t).append({"Sid": "NoDelete", "Effect": "Deny", "Action": "sagemaker:DeleteEndpoint", "Resource": "*"})


def _long_sessions(t: dict[str, Any]) -> None:
    t["Resources"]["MemberRole"]["Properties"]["MaxSessionDuration"] = 43200


MEMBER_MUTATIONS: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "a resource widened to *": (_widen_member_resource, "grants sagemaker:DescribeEndpoint on *"),
    "a resource pinned to one region": (_pin_member_region, "lacks sagemaker:DescribeEndpointConfig"),
    "a resource of any account": (_another_account, "grants sagemaker:DescribeInferenceComponent on arn:aws:sagemaker:*:*:"),
    "the external id dropped": (_drop_external_id, "must require the external id"),
    "the external id written down": (_external_id_written_down, "must require the external id"),
    "any external id": (_external_id_by_pattern, "must require the external id"),
    "any role of the central account": (_drop_worker_roles, "exactly the central worker roles"),
    "another central role": (_another_principal, "exactly the central worker roles"),
    "any principal": (_any_principal, "the central account alone"),
    "an action of the central account": (_add_member_action, "those stay in the central account"),
    "a write": (_add_write_action, "read-only"),
    "an action an adapter needs, dropped": (_drop_member_action, "lacks cloudtrail:LookupEvents"),
    "a managed policy": (_member_managed_policy, "managed policies"),
    "an explicit Deny": (_member_deny, "explicit Deny"),
    "twelve-hour sessions": (_long_sessions, "MaxSessionDuration"),
}


@pytest.mark.parametrize("mutation", sorted(MEMBER_MUTATIONS))
def test_the_member_role_checker_fails_each_mutation(mutation: str) -> None:
    mutate, reason = MEMBER_MUTATIONS[mutation]
    template = copy.deepcopy(MEMBER_TEMPLATE)
    mutate(template)
    failures = member_role_failures(template)
    assert failures, f"{mutation}: the checker passed it"
    assert any(reason in f for f in failures), f"{mutation}: failed, but not for {reason!r}: {failures}"


def _machine_text(t: dict[str, Any]) -> str:
    return _sub_text(t["Resources"]["FanOutStateMachine"]["Properties"]["DefinitionString"])


def _edit_machine(t: dict[str, Any], edit: Callable[[dict[str, Any]], None]) -> None:
    """Apply ``edit`` to the definition (parsed with its ${...} kept as they are) and write it back as text."""
    text = _machine_text(t)
    holes = {f"__hole{i}__": m for i, m in enumerate(sorted(set(re.findall(r"\$\{[^}]+\}", text))))}
    for key, hole in holes.items():
        text = text.replace(hole, key)
    text = re.sub(r'"MaxConcurrency": (__hole\d+__)', r'"MaxConcurrency": "\1"', text)
    machine = json.loads(text)
    edit(machine)
    text = json.dumps(machine, indent=2)
    text = re.sub(r'"MaxConcurrency": "(__hole\d+__)"', r'"MaxConcurrency": \1', text)
    for key, hole in holes.items():
        text = text.replace(key, hole)
    t["Resources"]["FanOutStateMachine"]["Properties"]["DefinitionString"] = {"Fn::Sub": text}


def _item_states(machine: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = machine["States"]["EachTarget"]["ItemProcessor"]["States"]
    return found


def _inline_map(t: dict[str, Any]) -> None:
    _edit_machine(t, lambda m: m["States"]["EachTarget"]["ItemProcessor"].update(ProcessorConfig={"Mode": "INLINE"}))


def _fixed_concurrency(t: dict[str, Any]) -> None:
    text = _machine_text(t).replace('"MaxConcurrency": ${FanOutConcurrency}', '"MaxConcurrency": 10')
    t["Resources"]["FanOutStateMachine"]["Properties"]["DefinitionString"] = {"Fn::Sub": text}


def _quoted_concurrency(t: dict[str, Any]) -> None:
    text = _machine_text(t).replace('"MaxConcurrency": ${FanOutConcurrency}', '"MaxConcurrency": "${FanOutConcurrency}"')
    t["Resources"]["FanOutStateMachine"]["Properties"]["DefinitionString"] = {"Fn::Sub": text}


def _no_catch(t: dict[str, Any]) -> None:
    _edit_machine(t, lambda m: _item_states(m)["CostMeter"].pop("Catch"))


def _no_retry(t: dict[str, Any]) -> None:
    _edit_machine(t, lambda m: _item_states(m)["Notify"].pop("Retry"))


def _intolerant_map(t: dict[str, Any]) -> None:
    _edit_machine(t, lambda m: m["States"]["EachTarget"].update(ToleratedFailurePercentage=0))


def _wrong_function(t: dict[str, Any]) -> None:
    def edit(m: dict[str, Any]) -> None:
        _item_states(m)["CostMeter"]["Parameters"]["FunctionName"] = "${NotifierFunction.Arn}"

    _edit_machine(t, edit)


def _item_without_target(t: dict[str, Any]) -> None:
    _edit_machine(t, lambda m: m["States"]["EachTarget"]["ItemSelector"].pop("target.$"))


def _dangling_next(t: dict[str, Any]) -> None:
    _edit_machine(t, lambda m: _item_states(m)["IdleScan"].update(Next="Nowhere"))


def _invoke_anything(t: dict[str, Any]) -> None:
    statements = t["Resources"]["FanOutStateMachineRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    (invoke,) = [s for s in statements if s["Sid"] == "InvokeFunctions"]
    invoke["Resource"] = "*"


def _start_any_execution(t: dict[str, Any]) -> None:
    statements = t["Resources"]["FanOutStateMachineRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    (start,) = [s for s in statements if s["Sid"] == "DistributedMapStart"]
    start["Resource"] = {"Fn::Sub": "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:*"}


def _report_without_results(t: dict[str, Any]) -> None:
    _edit_machine(t, lambda m: m["States"]["Report"]["Parameters"]["Payload"].pop("results.$"))


STATE_MACHINE_MUTATIONS: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "an inline map": (_inline_map, "no Distributed Map"),
    "a concurrency written down": (_fixed_concurrency, "MaxConcurrency 10"),
    "a concurrency quoted": (_quoted_concurrency, "must be the number FanOutConcurrency"),
    "a worker's failure not caught": (_no_catch, "must catch States.ALL"),
    "a worker not retried": (_no_retry, "not Lambda's service errors and States.TaskFailed"),
    "one failure fails the map": (_intolerant_map, "ToleratedFailurePercentage 100"),
    "a task running another function": (_wrong_function, "task cost-meter does not invoke CostMeterFunction"),
    "items without their target": (_item_without_target, "EachTarget must map $.targets"),
    "a transition to nowhere": (_dangling_next, "goes to 'Nowhere'"),
    "invoke any function": (_invoke_anything, "grants lambda:InvokeFunction on *"),
    "start any state machine": (
        _start_any_execution,
        "grants states:StartExecution on arn:aws:states:eu-west-1:123456789012:stateMachine:*",
    ),
    "a report without the results": (_report_without_results, "Report does not invoke TargetsFunction"),
}


def test_the_state_machine_checker_passes_the_real_template() -> None:
    assert state_machine_failures(copy.deepcopy(TEMPLATE)) == []
    template = copy.deepcopy(TEMPLATE)
    _edit_machine(template, lambda m: None)  # the round trip the mutations use changes nothing that matters
    assert state_machine_failures(template) == []


@pytest.mark.parametrize("mutation", sorted(STATE_MACHINE_MUTATIONS))
def test_the_state_machine_checker_fails_each_mutation(mutation: str) -> None:
    mutate, reason = STATE_MACHINE_MUTATIONS[mutation]
    template = copy.deepcopy(TEMPLATE)
    mutate(template)
    failures = state_machine_failures(template)
    assert failures, f"{mutation}: the checker passed it"
    assert any(reason in f for f in failures), f"{mutation}: failed, but not for {reason!r}: {failures}"


def _role_statements(t: dict[str, Any], role: str) -> list[Any]:
    found: list[Any] = t["Resources"][role]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    return found


def _member_statement_of(t: dict[str, Any], role: str) -> dict[str, Any]:
    for statement in _role_statements(t, role):
        if isinstance(statement, dict) and set(statement) == {"Fn::If"} and statement["Fn::If"][1].get("Sid") == "MemberAccounts":
            found: dict[str, Any] = statement["Fn::If"][1]
            return found
    raise AssertionError(f"{role} has no MemberAccounts statement")


def _assume_any_role(t: dict[str, Any]) -> None:
    _member_statement_of(t, "CostMeterFunctionRole")["Resource"] = {"Fn::Sub": "arn:${AWS::Partition}:iam::*:role/*"}


def _assume_outside_the_organization(t: dict[str, Any]) -> None:
    del _member_statement_of(t, "IdleScanFunctionRole")["Condition"]


def _assume_when_off(t: dict[str, Any]) -> None:
    statements = _role_statements(t, "NotifierFunctionRole")
    (index,) = [
        i for i, s in enumerate(statements) if isinstance(s, dict) and set(s) == {"Fn::If"} and s["Fn::If"][0] == "IsOrganization"
    ]
    statements[index] = statements[index]["Fn::If"][1]


def _another_organization(t: dict[str, Any]) -> None:
    condition = _member_statement_of(t, "CostMeterFunctionRole")["Condition"]
    condition["Fn::If"][1]["StringEquals"]["aws:ResourceOrgID"] = "o-someoneelse1"


def _organization_on_another_action(t: dict[str, Any]) -> None:
    statement = _member_statement_of(t, "IdleScanFunctionRole")
    statement["Action"] = ["sts:AssumeRole", "sts:TagSession"]


def _list_accounts_of_another_service(t: dict[str, Any]) -> None:
    statements = _role_statements(t, "TargetsFunctionRole")
    statements.append({"Sid": "More", "Effect": "Allow", "Action": "organizations:DescribeAccount", "Resource": "*"})


def _any_parameter(t: dict[str, Any]) -> None:
    statements = _role_statements(t, "TargetsFunctionRole")
    (index,) = [i for i, s in enumerate(statements) if isinstance(s, dict) and set(s) == {"Fn::If"}]
    statements[index]["Fn::If"][1]["Resource"] = {
        "Fn::Sub": "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter/*"
    }


def _parameter_always(t: dict[str, Any]) -> None:
    statements = _role_statements(t, "TargetsFunctionRole")
    (index,) = [i for i, s in enumerate(statements) if isinstance(s, dict) and set(s) == {"Fn::If"}]
    statements[index]["Fn::If"][2] = {
        "Sid": "AnyParameter",
        "Effect": "Allow",
        "Action": "ssm:GetParameter",
        "Resource": {"Fn::Sub": "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter/spendwatch"},
    }


def _sagemaker_only_here_when_on(t: dict[str, Any]) -> None:
    for statement in _role_statements(t, "IdleScanFunctionRole"):
        if isinstance(statement, dict) and statement.get("Sid") == "SageMakerEndpoints":
            statement["Resource"] = {"Fn::Sub": "arn:${AWS::Partition}:sagemaker:${AWS::Region}:${AWS::AccountId}:endpoint/*"}


ROLE_MUTATIONS: dict[str, tuple[str, Callable[[dict[str, Any]], None], str]] = {
    "assume any role": ("CostMeterFunction", _assume_any_role, "grants sts:AssumeRole on arn:aws:iam::*:role/*"),
    "assume a role outside the organization": ("IdleScanFunction", _assume_outside_the_organization, "aws:ResourceOrgID None"),
    "assume a role when off": (
        "NotifierFunction",
        _assume_when_off,
        "grants sts:AssumeRole on arn:aws:iam::*:role/spendwatch-member",
    ),
    "another organization": ("CostMeterFunction", _another_organization, "aws:ResourceOrgID 'o-someoneelse1'"),
    "an organization condition on another action": ("IdleScanFunction", _organization_on_another_action, "sts:TagSession"),
    "another Organizations action": ("TargetsFunction", _list_accounts_of_another_service, "organizations:DescribeAccount"),
    "any parameter": ("TargetsFunction", _any_parameter, "parameter/*"),
    "a parameter when none is given": ("TargetsFunction", _parameter_always, "parameter/spendwatch"),
    "this account's endpoints in one region only, when on": (
        "IdleScanFunction",
        _sagemaker_only_here_when_on,
        "lacks sagemaker:DescribeEndpoint",
    ),
}


@pytest.mark.parametrize("mutation", sorted(ROLE_MUTATIONS))
def test_the_role_checker_fails_each_organization_mutation(mutation: str) -> None:
    logical_id, mutate, reason = ROLE_MUTATIONS[mutation]
    template = copy.deepcopy(TEMPLATE)
    mutate(template)
    failures = check_function(template, logical_id, fan_out_needs(logical_id))
    assert failures, f"{mutation}: the checker passed it"
    assert any(reason in f for f in failures), f"{mutation}: failed, but not for {reason!r}: {failures}"


def _start_anything(t: dict[str, Any]) -> None:
    (start,) = [s for s in _role_statements(t, "FanOutSchedulerRole") if s["Sid"] == "StartFanOut"]
    start["Resource"] = "*"


def _scheduler_invokes(t: dict[str, Any]) -> None:
    _role_statements(t, "FanOutSchedulerRole").append(
        {
            "Sid": "Invoke",
            "Effect": "Allow",
            "Action": "lambda:InvokeFunction",
            "Resource": {"Fn::GetAtt": ["IdleScanFunction", "Arn"]},
        }
    )


def _scheduler_trusts_lambda(t: dict[str, Any]) -> None:
    t["Resources"]["FanOutSchedulerRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] = {
        "Service": "lambda.amazonaws.com"
    }


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (_start_anything, "grants states:StartExecution on *"),
        (_scheduler_invokes, "grants lambda:InvokeFunction"),
        (_scheduler_trusts_lambda, "only EventBridge Scheduler"),
    ],
)
def test_the_scheduler_checker_fails_each_mutation(mutate: Callable[[dict[str, Any]], None], reason: str) -> None:
    template = copy.deepcopy(TEMPLATE)
    mutate(template)
    failures = scheduler_failures(template)
    assert any(reason in f for f in failures), failures


def test_member_template_is_plain_cloudformation() -> None:
    """No SAM transform, no conditions: a StackSet deploys it as it is, the same in every account."""
    assert "Transform" not in MEMBER_TEMPLATE
    assert MEMBER_TEMPLATE["AWSTemplateFormatVersion"] == "2010-09-09"
    assert "Conditions" not in MEMBER_TEMPLATE
