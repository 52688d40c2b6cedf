"""Each function's IAM policy in template.yaml grants exactly the AWS actions its code can call.

The code is read, not run. ``CodeIndex`` parses every module of the spendwatch package and
follows, from ``functions/<name>/app.py``'s handler, the ``spendwatch`` imports symbol by
symbol: a function or class is reached when reached code names it, a method of a reached
class when reached code uses an attribute of that name (dunders and decorated methods
always), a module's top-level statements when the module is imported. Following symbols
rather than whole modules keeps a shared module (``handlers.py`` holds every function's
entry point) from lending one function the permissions of another.

An AWS call is seen in an adapter module (``spendwatch/aws/*.py``), whose service is named by
the ``IAM_ACTIONS`` it declares (or ``ADAPTER_SERVICES`` below), in any of the forms the
adapters use, checked against botocore's model of that service:

- ``self._client.get_item(...)``, ``client.query(...)``, or the bound method passed on:
  ``self._retry.call("GetItem", self._client.get_item, ...)``;
- the operation's name as a call's first argument: ``self._retry.call("GetMetricData", ...)``,
  ``self._call("DescribeEndpoint", ...)``, ``self._pages("ListTags", ...)``;
- ``client.get_paginator("list_endpoints")``;
- ``TransactWriteItems``, which has no IAM action of its own: the actions of its parts (the
  ``Put``/``Update``/``Delete``/``ConditionCheck`` keys its items are built with);
- Powertools' parameter utilities (``SSMProvider(...).get``, ``get_parameter``), which call SSM.

SAM adds the permissions of ``Tracing`` and ``DeadLetterQueue`` to the role outside the
``Policies`` list: they are not checked here.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore import xform_name

from tests.conftest import REPO
from tests.template import load_template

PACKAGE_ROOT = REPO / "layers" / "spendwatch"

# Adapters whose IAM_ACTIONS do not name their service (or that declare none): module -> boto3 service names.
ADAPTER_SERVICES: dict[str, tuple[str, ...]] = {}
# IAM prefixes whose boto3 service is named differently.
IAM_PREFIX_SERVICES = {"states": "stepfunctions", "execute-api": "apigatewaymanagementapi"}
# The emulated AWS seeds moto in-process: its calls never reach an account.
NOT_REAL_AWS = {"spendwatch_emulator.emulator"}

# Operations authorised by an action of another name.
OPERATION_ACTIONS = {
    ("dynamodb", "TransactGetItems"): {"dynamodb:GetItem"},
    ("sns", "PublishBatch"): {"sns:Publish"},
    ("s3", "ListObjectsV2"): {"s3:ListBucket"},
    ("s3", "HeadObject"): {"s3:GetObject"},
    ("s3", "HeadBucket"): {"s3:ListBucket"},
}
TRANSACTION_PARTS = {
    "Put": "dynamodb:PutItem",
    "Update": "dynamodb:UpdateItem",
    "Delete": "dynamodb:DeleteItem",
    "ConditionCheck": "dynamodb:ConditionCheckItem",
}
# Actions AWS checks on the caller for a call it makes: publishing to a KMS-encrypted topic uses the key.
IMPLIED_BY_ENCRYPTED_TOPIC = {"sns:Publish": {"kms:GenerateDataKey", "kms:Decrypt"}}
# Powertools parameter utilities and the SSM action each makes.
POWERTOOLS_PARAMETERS = "aws_lambda_powertools.utilities.parameters"
PROVIDER_METHODS = {"SSMProvider": {"get": "ssm:GetParameter", "get_multiple": "ssm:GetParametersByPath"}}
PARAMETER_FUNCTIONS = {
    "get_parameter": "ssm:GetParameter",
    "get_parameters": "ssm:GetParametersByPath",
    "get_parameters_by_name": "ssm:GetParameters",
    "get_secret": "secretsmanager:GetSecretValue",
}
# Actions that support no resource-level permissions (so Resource "*" is as narrow as it gets).
RESOURCE_LESS_ACTIONS = {
    "sagemaker:ListEndpoints",
    "sagemaker:ListInferenceComponents",
    "cloudwatch:GetMetricData",
    "cloudwatch:ListMetrics",
    "cloudwatch:PutMetricData",
    "pricing:GetProducts",
    "cloudtrail:LookupEvents",
}

# Receivers of AWS calls: a client (``self._client``, ``client``, ``aws.client("sns")``) or a boto3 Table resource.
_CLIENT = re.compile(r"client(\([^()]*\))?$", re.IGNORECASE)
_CLIENT_OR_TABLE = re.compile(r"(client|table)(\([^()]*\))?$", re.IGNORECASE)

Target = tuple[str, ...]
"""("module", name) | ("symbol", module, qualname) | ("external", dotted name)."""


@cache
def _operations(service: str) -> frozenset[str]:
    names = botocore.session.get_session().get_service_model(service).operation_names
    return frozenset(names)


@cache
def _snake_operations(service: str) -> dict[str, str]:
    return {xform_name(op): op for op in _operations(service)}


@cache
def _available_services() -> frozenset[str]:
    return frozenset(botocore.session.get_session().get_available_services())


@dataclass
class Module:
    name: str
    path: Path
    tree: ast.Module
    bindings: dict[str, Target] = field(default_factory=dict)
    nodes: dict[str, ast.AST] = field(default_factory=dict)  # qualname -> def/class (methods as Class.method)
    methods: dict[str, list[str]] = field(default_factory=dict)  # class -> its method qualnames
    imports: set[str] = field(default_factory=set)  # internal modules it imports (anywhere)

    @property
    def package(self) -> str:
        return self.name if self.path.name == "__init__.py" else self.name.rpartition(".")[0]

    def declared_actions(self) -> tuple[str, ...] | None:
        for stmt in self.tree.body:
            if isinstance(stmt, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "IAM_ACTIONS" for t in stmt.targets):
                value = ast.literal_eval(stmt.value)
                return tuple(str(v) for v in value)
        return None

    def roots(self) -> Iterator[ast.AST]:
        """What runs when the module is imported, definitions aside."""
        for stmt in self.tree.body:
            if not isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom)):
                yield stmt


@dataclass(frozen=True)
class Call:
    action: str
    where: str  # module:qualname


class CodeIndex:
    """The package under ``package_root`` (which holds ``spendwatch/``), parsed once."""

    def __init__(self, package_root: Path, package: str = "spendwatch") -> None:
        self.package = package
        self.modules: dict[str, Module] = {}
        for path in sorted((package_root / package).rglob("*.py")):
            parts = path.relative_to(package_root).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            self.modules[name] = self._parse(name, path)
        for module in self.modules.values():
            self._bind(module)

    # -- parsing ------------------------------------------------------------------------

    def _parse(self, name: str, path: Path) -> Module:
        module = Module(name, path, ast.parse(path.read_text(encoding="utf-8"), str(path)))
        for stmt in module.tree.body:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                module.nodes[stmt.name] = stmt
            elif isinstance(stmt, ast.ClassDef):
                module.nodes[stmt.name] = stmt
                methods = [m for m in stmt.body if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef))]
                module.methods[stmt.name] = [f"{stmt.name}.{m.name}" for m in methods]
                for m in methods:
                    module.nodes[f"{stmt.name}.{m.name}"] = m
        return module

    def _is_internal(self, dotted: str) -> bool:
        return dotted == self.package or dotted.startswith(self.package + ".")

    def _bind(self, module: Module) -> None:
        for node in ast.walk(module.tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if self._is_internal(alias.name):
                        module.imports.update(self._with_parents(alias.name))
                        bound = alias.name if alias.asname else alias.name.split(".")[0]
                        module.bindings[alias.asname or bound] = ("module", bound)
                    else:
                        module.bindings[alias.asname or alias.name.split(".")[0]] = ("external", alias.name)
            elif isinstance(node, ast.ImportFrom):
                source = self._absolute(module, node)
                for alias in node.names:
                    local = alias.asname or alias.name
                    if not self._is_internal(source):
                        module.bindings[local] = ("external", f"{source}.{alias.name}")
                        continue
                    module.imports.update(self._with_parents(source))
                    if f"{source}.{alias.name}" in self.modules:
                        module.imports.add(f"{source}.{alias.name}")
                        module.bindings[local] = ("module", f"{source}.{alias.name}")
                    else:
                        module.bindings[local] = ("symbol", source, alias.name)

    def _absolute(self, module: Module, node: ast.ImportFrom) -> str:
        if not node.level:
            return node.module or ""
        base = module.package.split(".")
        base = base[: len(base) - (node.level - 1)]
        return ".".join([*base, node.module] if node.module else base)

    def _with_parents(self, dotted: str) -> set[str]:
        parts = dotted.split(".")
        return {".".join(parts[:i]) for i in range(1, len(parts) + 1) if ".".join(parts[:i]) in self.modules}

    def load_app(self, path: Path, name: str) -> Module:
        module = self._parse(name, path)
        self.modules[name] = module
        self._bind(module)
        return module

    # -- resolution -----------------------------------------------------------------------

    def _resolve(self, target: Target, seen: frozenset[Target] = frozenset()) -> Target | None:
        """A symbol target followed through re-exports to where it is defined."""
        if target[0] != "symbol" or target in seen:
            return target if target[0] != "symbol" else None
        _, mod, name = target
        module = self.modules.get(mod)
        if module is None:
            return None
        if name in module.nodes:
            return target
        if f"{mod}.{name}" in self.modules:
            return ("module", f"{mod}.{name}")
        if name in module.bindings:
            return self._resolve(module.bindings[name], seen | {target})
        return None  # a module-level constant: its value is computed by the module's roots

    def _lookup(self, module: Module, name: str) -> Target | None:
        if name in module.nodes:
            return ("symbol", module.name, name)
        if name in module.bindings:
            return self._resolve(module.bindings[name])
        return None

    def _attribute_target(self, module: Module, node: ast.Attribute) -> Target | None:
        chain: list[str] = []
        base: ast.expr = node
        while isinstance(base, ast.Attribute):
            chain.append(base.attr)
            base = base.value
        if not isinstance(base, ast.Name):
            return None
        target = self._lookup(module, base.id)
        for attr in reversed(chain):
            if target is None or target[0] != "module":
                return target
            target = self._resolve(("symbol", target[1], attr))
        return target

    # -- reachability ---------------------------------------------------------------------

    def _own_parts(self, module: Module, qualname: str) -> list[ast.AST]:
        node = module.nodes[qualname]
        if isinstance(node, ast.ClassDef):  # the class without its methods (reached one by one)
            return [
                *node.bases,
                *node.keywords,
                *node.decorator_list,
                *(s for s in node.body if not isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))),
            ]
        return [node]

    def _references(self, module: Module, parts: list[ast.AST]) -> tuple[set[Target], set[str]]:
        targets: set[Target] = set()
        attrs: set[str] = set()
        attribute_bases: set[int] = set()
        for part in parts:
            for node in ast.walk(part):
                if isinstance(node, ast.Attribute):
                    attrs.add(node.attr)
                    attribute_bases.add(id(node.value))
                    target = self._attribute_target(module, node)
                    if target is not None and target[0] == "symbol":
                        targets.add(target)
        for part in parts:
            for node in ast.walk(part):
                if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
                    target = self._lookup(module, node.id)
                    if target is None:
                        continue
                    if target[0] == "module" and id(node) not in attribute_bases:
                        targets.add(("whole-module", target[1]))  # passed around as an object: all of it
                    elif target[0] == "symbol":
                        targets.add(target)
        return targets, attrs

    def reach(self, app: Module, handler: str) -> dict[str, set[str]]:
        """module -> qualnames reachable from ``app``'s ``handler`` (a qualname "" stands for the module's roots)."""
        imported: set[str] = set()
        pending = [app.name]
        while pending:
            name = pending.pop()
            if name not in imported:
                imported.add(name)
                pending.extend(self.modules[name].imports)
        reached: dict[str, set[str]] = defaultdict(set)
        attrs: set[str] = set()
        work: list[tuple[str, str]] = [(m, "") for m in sorted(imported)] + [(app.name, handler)]
        while True:
            while work:
                mod, qualname = work.pop()
                if qualname in reached[mod]:
                    continue
                reached[mod].add(qualname)
                module = self.modules[mod]
                parts = list(module.roots()) if qualname == "" else self._own_parts(module, qualname)
                targets, found = self._references(module, parts)
                attrs |= found
                for target in targets:
                    if target[0] == "whole-module":
                        work.extend((target[1], q) for q in self.modules[target[1]].nodes)
                    else:
                        work.append((target[1], target[2]))
            for mod, qualnames in list(reached.items()):
                module = self.modules[mod]
                for cls in [q for q in qualnames if q in module.methods]:
                    for method in module.methods[cls]:
                        node = module.nodes[method]
                        short = method.split(".", 1)[1]
                        assert isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
                        if method not in qualnames and (
                            short in attrs or (short.startswith("__") and short.endswith("__")) or node.decorator_list
                        ):
                            work.append((mod, method))
            if not work:
                return reached

    # -- AWS calls ------------------------------------------------------------------------

    def services(self, module: Module) -> tuple[str, ...]:
        """The boto3 services an adapter talks to ((): not an adapter)."""
        found = list(ADAPTER_SERVICES.get(module.name, ()))
        for action in module.declared_actions() or ():
            prefix = action.split(":", 1)[0]
            service = IAM_PREFIX_SERVICES.get(prefix, prefix)
            if service in _available_services() and service not in found:
                found.append(service)
        return tuple(found)

    def client_calls(self, module: Module) -> list[str]:
        """``<...client>.<method>`` uses in a module, whatever the service (for modules that are no adapter)."""
        return sorted(
            {
                ast.unparse(node)
                for node in ast.walk(module.tree)
                if isinstance(node, ast.Attribute)
                and _CLIENT.search(ast.unparse(node.value))
                and node.attr not in {"meta", "exceptions"}
            }
        )

    def calls(self, module: Module, qualnames: set[str]) -> tuple[set[Call], list[str]]:
        """The IAM actions the given parts of ``module`` call, and what could not be told."""
        found: set[Call] = set()
        problems: list[str] = []
        parts_by_name = {q: (list(module.roots()) if q == "" else self._own_parts(module, q)) for q in sorted(qualnames)}
        powertools = {
            local: target[1].rsplit(".", 1)[1]
            for local, target in module.bindings.items()
            if target[0] == "external" and target[1].startswith(POWERTOOLS_PARAMETERS)
        }
        services = self.services(module) if module.name not in NOT_REAL_AWS else ()
        transaction_parts = {
            key
            for parts in parts_by_name.values()
            for part in parts
            for node in ast.walk(part)
            for key in _dict_keys(node)
            if key in TRANSACTION_PARTS
        }
        for qualname, parts in parts_by_name.items():
            where = f"{module.name}:{qualname or '<module>'}"
            for part in parts:
                for node in ast.walk(part):
                    for action in _powertools_actions(node, powertools):
                        found.add(Call(action, where))
                    for service in services:
                        for operation in _operations_called(node, service):
                            if (service, operation) == ("dynamodb", "TransactWriteItems"):
                                if not transaction_parts:
                                    problems.append(f"{where}: TransactWriteItems whose parts (Put/Update/...) are not visible")
                                found.update(Call(TRANSACTION_PARTS[p], where) for p in transaction_parts)
                                continue
                            for action in OPERATION_ACTIONS.get((service, operation), {f"{_iam_prefix(service)}:{operation}"}):
                                found.add(Call(action, where))
        return found, problems

    def function_calls(self, app_path: Path, handler: str) -> tuple[set[Call], list[str]]:
        app = self.load_app(app_path, f"<app {app_path.parent.name}>")
        calls: set[Call] = set()
        problems: list[str] = []
        for mod, qualnames in self.reach(app, handler).items():
            found, trouble = self.calls(self.modules[mod], qualnames)
            calls |= found
            problems += trouble
        return calls, problems


def _iam_prefix(service: str) -> str:
    return {v: k for k, v in IAM_PREFIX_SERVICES.items()}.get(service, service)


def _dict_keys(node: ast.AST) -> Iterator[str]:
    if isinstance(node, ast.Dict):
        yield from (k.value for k in node.keys if isinstance(k, ast.Constant) and isinstance(k.value, str))
    elif isinstance(node, ast.Call):
        yield from (k.arg for k in node.keywords if k.arg)


def _operations_called(node: ast.AST, service: str) -> Iterator[str]:
    snake = _snake_operations(service)
    if isinstance(node, ast.Attribute) and node.attr in snake and _CLIENT_OR_TABLE.search(ast.unparse(node.value)):
        yield snake[node.attr]
    if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
        first = node.args[0].value
        callee = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        if callee == "get_paginator" and first in snake:
            yield snake[first]
        elif isinstance(first, str) and first in _operations(service) and not callee.endswith(("Error", "Exception")):
            yield first


def _powertools_actions(node: ast.AST, powertools: dict[str, str]) -> Iterator[str]:
    if not isinstance(node, ast.Call):
        return
    func = node.func
    if isinstance(func, ast.Name) and powertools.get(func.id) in PARAMETER_FUNCTIONS:
        yield PARAMETER_FUNCTIONS[powertools[func.id]]
    if isinstance(func, ast.Attribute):
        receiver = func.value.func if isinstance(func.value, ast.Call) else func.value
        provider = powertools.get(receiver.id) if isinstance(receiver, ast.Name) else None
        if provider in PROVIDER_METHODS and func.attr in PROVIDER_METHODS[provider]:
            yield PROVIDER_METHODS[provider][func.attr]
        elif provider == "parameters" and func.attr in PARAMETER_FUNCTIONS:  # parameters.get_parameter(...)
            yield PARAMETER_FUNCTIONS[func.attr]


# -- template side ---------------------------------------------------------------------------


def _branches(value: Any) -> Iterator[Any]:
    """Both branches of Fn::If (a conditional grant counts as granted), never AWS::NoValue."""
    if isinstance(value, dict) and set(value) == {"Fn::If"}:
        for branch in value["Fn::If"][1:]:
            yield from _branches(branch)
    elif value != {"Ref": "AWS::NoValue"}:
        yield value


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def policy_statements(props: dict[str, Any]) -> list[dict[str, Any]]:
    statements: list[dict[str, Any]] = []
    for policy in props.get("Policies", []):
        assert isinstance(policy, dict), f"only inline policy documents can be checked against the code, got {policy!r}"
        assert "Statement" in policy, f"only inline policy documents can be checked against the code, got {policy!r}"
        for statement in _as_list(policy["Statement"]):
            statements.extend(_branches(statement))
    return statements


def granted_actions(props: dict[str, Any]) -> set[str]:
    granted: set[str] = set()
    for statement in policy_statements(props):
        assert "NotAction" not in statement, statement
        if statement.get("Effect") == "Allow":
            granted.update(_as_list(statement["Action"]))
    return granted


TEMPLATE = load_template()
FUNCTIONS = sorted(k for k, v in TEMPLATE["Resources"].items() if v["Type"] == "AWS::Serverless::Function")
TOPIC_ENCRYPTED = any(
    v["Type"] == "AWS::SNS::Topic" and v.get("Properties", {}).get("KmsMasterKeyId") for v in TEMPLATE["Resources"].values()
)


@cache
def code_index() -> CodeIndex:
    return CodeIndex(PACKAGE_ROOT)


def app_of(logical_id: str) -> tuple[Path, str]:
    props = TEMPLATE["Resources"][logical_id]["Properties"]
    module, _, handler = props["Handler"].rpartition(".")
    return REPO / props["CodeUri"] / f"{module.replace('.', '/')}.py", handler


def required_actions(calls: set[Call]) -> dict[str, set[str]]:
    """action -> where the code needs it (implied actions included)."""
    needed: dict[str, set[str]] = defaultdict(set)
    for call in calls:
        needed[call.action].add(call.where)
        if TOPIC_ENCRYPTED:
            for implied in IMPLIED_BY_ENCRYPTED_TOPIC.get(call.action, ()):
                needed[implied].add(f"{call.where} (implied by {call.action} to a KMS-encrypted topic)")
    return needed


# -- tests -------------------------------------------------------------------------------------


def test_template_has_the_three_functions() -> None:
    assert {"IdleScanFunction", "CostMeterFunction", "NotifierFunction"} <= set(FUNCTIONS)
    for logical_id in FUNCTIONS:
        app, _ = app_of(logical_id)
        assert app.parent.is_dir(), f"{logical_id}: CodeUri {app.parent} does not exist"


@pytest.mark.parametrize("logical_id", FUNCTIONS)
def test_policy_grants_exactly_what_the_code_calls(logical_id: str) -> None:
    app, handler = app_of(logical_id)
    if not app.exists():
        pytest.skip(f"{app.relative_to(REPO)} is not written yet: {logical_id}'s policy cannot be checked against it")
    calls, problems = code_index().function_calls(app, handler)
    assert not problems, problems
    needed = required_actions(calls)
    granted = granted_actions(TEMPLATE["Resources"][logical_id]["Properties"])
    missing = {action: sorted(where) for action, where in needed.items() if action not in granted}
    unused = sorted(granted - set(needed))
    assert not missing, f"{logical_id}'s policy lacks actions its code calls: {missing}"
    assert not unused, f"{logical_id}'s policy grants actions nothing reachable from {app.relative_to(REPO)} calls: {unused}"


def test_no_action_is_a_wildcard() -> None:
    def walk(value: Any, path: str) -> Iterator[tuple[str, str]]:
        if isinstance(value, dict):
            for key, item in value.items():
                if key in ("Action", "NotAction"):
                    yield from ((path, a) for a in _as_list(item) if isinstance(a, str))
                yield from walk(item, f"{path}.{key}")
        elif isinstance(value, list):
            for index, item in enumerate(value):
                yield from walk(item, f"{path}[{index}]")

    actions = list(walk(TEMPLATE["Resources"], "Resources"))
    assert actions
    assert not [(p, a) for p, a in actions if a == "*"]
    # A function's own grants name every action in full.
    in_functions = [(p, a) for p, a in actions if any(f".{f}." in p for f in FUNCTIONS)]
    assert in_functions
    assert not [(p, a) for p, a in in_functions if "*" in a]


@pytest.mark.parametrize("logical_id", FUNCTIONS)
def test_unscoped_only_where_the_api_allows_no_resource(logical_id: str) -> None:
    for statement in policy_statements(TEMPLATE["Resources"][logical_id]["Properties"]):
        if "*" in _as_list(statement["Resource"]):
            assert set(_as_list(statement["Action"])) <= RESOURCE_LESS_ACTIONS, statement


def test_every_adapter_declares_what_it_calls() -> None:
    """Adapters are discovered, not listed: each module under spendwatch/aws that uses a client
    names its service (IAM_ACTIONS), the walker sees at least one of its calls, and every call
    it makes is in its IAM_ACTIONS."""
    index = code_index()
    adapters = 0
    for name, module in sorted(index.modules.items()):
        if not name.startswith("spendwatch.aws.") or name.startswith("<"):
            continue
        if not index.services(module):
            assert not index.client_calls(module), (
                f"{name} calls AWS ({index.client_calls(module)}) but declares no IAM_ACTIONS (or ADAPTER_SERVICES entry)"
            )
            continue
        adapters += 1
        calls, problems = index.calls(module, {"", *module.nodes})
        assert not problems, problems
        seen = {c.action for c in calls}
        assert seen, f"{name} declares {module.declared_actions()} but the walker sees none of its calls"
        declared = set(module.declared_actions() or ())
        if declared:
            assert seen <= declared, f"{name} calls {sorted(seen - declared)} without declaring them in IAM_ACTIONS"
    assert adapters >= 4


def test_only_adapters_talk_to_aws() -> None:
    index = code_index()
    for name, module in index.modules.items():
        if name.startswith(("spendwatch.aws.", "<")) or name in NOT_REAL_AWS:
            continue
        assert not index.client_calls(module), f"{name} calls a client directly: {index.client_calls(module)}"


# -- the walker itself, on a package made for the purpose -------------------------------------------

_FAKE = {
    "spendwatch/__init__.py": "",
    "spendwatch/aws/__init__.py": "",
    "spendwatch/aws/store.py": """
IAM_ACTIONS = ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:ConditionCheckItem",
               "dynamodb:DeleteItem", "dynamodb:Scan")
class Store:
    def __init__(self, client, retry):
        self._client = client
        self._retry = retry
    def read(self):
        return self._retry.call("GetItem", self._client.get_item, Key={})
    def write(self):
        self._client.put_item(Item={})
    def move(self):
        items = [{"Update": {}}, {"ConditionCheck": {}}]
        self._client.transact_write_items(TransactItems=items)
    def forget(self):
        self._client.delete_item(Key={})
def scan_all(client):
    return client.get_paginator("scan")
""",
    "spendwatch/aws/inventory.py": """
IAM_ACTIONS = ("sagemaker:ListEndpoints",)
class Inventory:
    def collect(self):
        return list(self._pages("ListEndpoints", "Endpoints"))
    def _pages(self, operation, key):
        return getattr(self._client, operation)()[key]
""",
    "spendwatch/aws/topic.py": """
IAM_ACTIONS = ("sns:Publish",)
def publish(client, arn):
    client.publish(TopicArn=arn, Message="x")
""",
    "spendwatch/aws/params.py": """
from aws_lambda_powertools.utilities.parameters import SSMProvider
IAM_ACTIONS = ("ssm:GetParameter",)
def read(client, name):
    return SSMProvider(boto3_client=client).get(name)
""",
    "spendwatch/handlers.py": """
from spendwatch.aws.store import Store, scan_all
from spendwatch.aws import topic
from spendwatch.aws.params import read as read_parameter
def one(client, retry):
    store = Store(client, retry)
    store.read()
    store.move()
    return read_parameter(client, "p")
def two(client):
    topic.publish(client, "arn")
    scan_all(client)
""",
    "functions/one/app.py": "from spendwatch import handlers\ndef handler(event, context):\n    return handlers.one(1, 2)\n",
    "functions/two/app.py": "from spendwatch.handlers import two\ndef handler(event, context):\n    return two(1)\n",
}


def test_walker_follows_symbols_and_every_call_pattern(tmp_path: Path) -> None:
    for relative, text in _FAKE.items():
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text(text.lstrip())
    index = CodeIndex(tmp_path)
    calls, problems = index.function_calls(tmp_path / "functions/one/app.py", "handler")
    assert not problems
    # write/forget are never used, Inventory never named: their calls are not this function's.
    assert {c.action for c in calls} == {
        "dynamodb:GetItem",
        "dynamodb:UpdateItem",
        "dynamodb:ConditionCheckItem",
        "ssm:GetParameter",
    }
    index = CodeIndex(tmp_path)
    calls, _ = index.function_calls(tmp_path / "functions/two/app.py", "handler")
    assert {c.action for c in calls} == {"sns:Publish", "dynamodb:Scan"}
    assert required_actions(calls).keys() >= ({"kms:GenerateDataKey", "kms:Decrypt"} if TOPIC_ENCRYPTED else set())
    # The whole of each adapter, as test_every_adapter_declares_what_it_calls sees it.
    inventory = index.modules["spendwatch.aws.inventory"]
    found, _ = index.calls(inventory, {"", *inventory.nodes})
    assert {c.action for c in found} == {"sagemaker:ListEndpoints"}
