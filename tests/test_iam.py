"""Each function's role in template.yaml grants exactly what the function needs: the AWS calls its
code can reach, on this stack's own resources, and writes to the ledger only on the keys it owns.

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
- ``client.get_paginator("list_endpoints")``, ``getattr(client, "get_item")``;
- ``TransactWriteItems``, which has no IAM action of its own: the actions of its parts (the
  ``Put``/``Update``/``Delete``/``ConditionCheck`` keys its items are built with);
- Powertools' parameter utilities (``SSMProvider(...).get``, ``get_parameter``), which call SSM.

A call the walker cannot see is a failure, not a pass: a client kept under a name that does
not say "client" (``db = self._client``), returned, or handed to code outside the package; an
attribute of a client that is no operation; ``getattr(client, name)`` with a computed name,
unless ``name`` is the function's first parameter and every caller passes an operation's name
as a literal (or passes on its own first parameter, checked the same way: a dispatcher such
as ``SageMakerInventory._call``).

Writes are checked by key. Each adapter method that writes (PutItem, UpdateItem, DeleteItem,
BatchWriteItem, or a TransactWriteItems part) is declared next to the code, in its module's
``WRITES_KEYS``: ``(qualname, key prefix)`` pairs, e.g. ``("Ledger._transact", "REC#")``;
``(qualname, None)`` marks a helper whose key is its caller's (``table.put_if_absent``), and
then each caller that names it declares the prefixes. A writer without a declaration fails.

The template side evaluates template.yaml as CloudFormation would (``Stack``), once for every
combination of the values the Conditions' parameters can take (those that decide the function,
its role and what they name, or that the rules below read), so each Fn::If branch is checked on
its own. For each set, a function's role must grant exactly the (action, resource) pairs the
function needs: the code's calls, on the resources its environment names (the table, the topic
and its key, the SSM parameters) or, for SageMaker, the account's endpoints
(``ACCOUNT_RESOURCES``; in any region when the stack fans out over an organization), ``"*"``
only for ``RESOURCE_LESS_ACTIONS``, nothing for ``PERMISSIONLESS_ACTIONS``; ``sts:AssumeRole``
on the member role (``MemberRoleName``, any account) only when the stack fans out, held to
``aws:ResourceOrgID`` exactly when ``OrganizationId`` is given; and what Lambda does with the
role: its own log group (``LoggingConfig``), X-Ray (``Tracing``), the dead-letter queue. A
function under a Condition is checked where it is created. A write action must carry
``ForAllValues:StringLike`` on ``dynamodb:LeadingKeys`` with exactly the prefixes (``REC#*``)
the code declares for it. Remediation's SageMaker changes (``RESOURCE_TAG_GUARDED``) must carry
``RESOURCE_TAG_GUARD`` (never on a resource tagged ``spendwatch:ignore=true`` or
``spendwatch:action=none``), the endpoint configs it creates ``REQUEST_TAG_GUARD`` (its own tag
on the request), and nothing else may carry either. Whatever else the checker meets fails: another condition operator or
key, an explicit Deny, NotAction, managed policies, grants in SAM's ``Policies`` (SAM's
generated role would add AWSLambdaBasicExecutionRole: logs in every log group), such settings
inherited from Globals, an intrinsic it does not evaluate, a condition whose other branch no
parameter value reaches.
The mutation tests at the end hold the checker to this: each wrong grant, and each hidden call,
applied to the real template or to a small package, must fail it.
"""

from __future__ import annotations

import ast
import copy
import itertools
import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterator
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
IAM_PREFIX_SERVICES = {
    "states": "stepfunctions",
    "execute-api": "apigatewaymanagementapi",
    "tag": "resourcegroupstaggingapi",
}
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
# Actions that change an item: each needs the keys it writes declared (WRITES_KEYS) and granted (dynamodb:LeadingKeys).
WRITE_ACTIONS = frozenset({"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"})
# Actions AWS checks on the caller for a call it makes: publishing to a KMS-encrypted topic uses the key.
IMPLIED_BY_ENCRYPTED_TOPIC = {"sns:Publish": ("kms:GenerateDataKey", "kms:Decrypt")}
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
    "tag:GetResources",
    "organizations:ListAccounts",
    "application-autoscaling:DescribeScalableTargets",
    "application-autoscaling:DescribeScalingPolicies",
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
}
# Actions that need no permission at all (AWS allows them whatever the policies say): nothing to grant.
PERMISSIONLESS_ACTIONS = {"sts:GetCallerIdentity"}
# OrganizationMode: a worker reads a member account through the role member-role.yaml creates there, named by
# MEMBER_ROLE_PARAMETER, in any account; and only when the stack fans out (FAN_OUT_CONDITION: the state machine
# hands the functions targets in other accounts; otherwise no code path assumes a role). When ORGANIZATION_PARAMETER
# is set, the grant must hold the role to the organization's accounts (aws:ResourceOrgID).
FAN_OUT_CONDITION = "IsOrganization"
MEMBER_ROLE_PARAMETER = "MemberRoleName"
ORGANIZATION_PARAMETER = "OrganizationId"
MEMBER_ROLE_ARN = "arn:{partition}:iam::*:role/{role}"
ORGANIZATION_SCOPED_ACTIONS = frozenset({"sts:AssumeRole"})
# Resources of the account, not of this stack, that a function needs whatever their names: spendwatch watches every
# endpoint of its region. Each action on the resource types the code calls it with (tags are read from endpoints
# and inference components, never from endpoint configs).
ACCOUNT_RESOURCES = {
    "sagemaker:DescribeEndpoint": ("arn:{partition}:sagemaker:{region}:{account}:endpoint/*",),
    "sagemaker:DescribeEndpointConfig": ("arn:{partition}:sagemaker:{region}:{account}:endpoint-config/*",),
    "sagemaker:DescribeInferenceComponent": ("arn:{partition}:sagemaker:{region}:{account}:inference-component/*",),
    "sagemaker:ListTags": (
        "arn:{partition}:sagemaker:{region}:{account}:endpoint/*",
        "arn:{partition}:sagemaker:{region}:{account}:inference-component/*",
    ),
    # Remediation's changes (the remediation role alone): each on the resource types the API authorises it on.
    "sagemaker:UpdateInferenceComponentRuntimeConfig": ("arn:{partition}:sagemaker:{region}:{account}:inference-component/*",),
    "sagemaker:UpdateEndpoint": (
        "arn:{partition}:sagemaker:{region}:{account}:endpoint/*",
        "arn:{partition}:sagemaker:{region}:{account}:endpoint-config/*",
    ),
    "sagemaker:DeleteEndpoint": ("arn:{partition}:sagemaker:{region}:{account}:endpoint/*",),
    "sagemaker:CreateEndpointConfig": ("arn:{partition}:sagemaker:{region}:{account}:endpoint-config/*",),
    "sagemaker:CreateEndpoint": (
        "arn:{partition}:sagemaker:{region}:{account}:endpoint/*",
        "arn:{partition}:sagemaker:{region}:{account}:endpoint-config/*",
    ),
    "sagemaker:UpdateEndpointWeightsAndCapacities": ("arn:{partition}:sagemaker:{region}:{account}:endpoint/*",),
    "sagemaker:DeleteEndpointConfig": ("arn:{partition}:sagemaker:{region}:{account}:endpoint-config/*",),
    "application-autoscaling:RegisterScalableTarget": (
        "arn:{partition}:application-autoscaling:{region}:{account}:scalable-target/*",
    ),
}
# A Create request that carries Tags is authorised for sagemaker:AddTags too, on the same resources.
IMPLIED_BY_TAGGED_CREATE = {
    "sagemaker:CreateEndpointConfig": "sagemaker:AddTags",
    "sagemaker:CreateEndpoint": "sagemaker:AddTags",
}
# Remediation's changes are held by tag (aws:ResourceTag): never on a resource tagged spendwatch:ignore=true or
# spendwatch:action=none (a negated condition matches a resource without the tag); the endpoint configs it creates
# must carry its spendwatch:scale-to-zero-of tag (aws:RequestTag). Exactly these actions carry exactly these guards.
RESOURCE_TAG_GUARD = {
    "StringNotEqualsIgnoreCase": {"aws:ResourceTag/spendwatch:ignore": "true", "aws:ResourceTag/spendwatch:action": "none"}
}
REQUEST_TAG_GUARD = {"Null": {"aws:RequestTag/spendwatch:scale-to-zero-of": "false"}}
RESOURCE_TAG_GUARDED = frozenset(
    {"sagemaker:UpdateInferenceComponentRuntimeConfig", "sagemaker:UpdateEndpoint", "sagemaker:DeleteEndpoint"}
)
REQUEST_TAG_GUARDED = frozenset({"sagemaker:CreateEndpointConfig", "sagemaker:AddTags"})
# Environment variables that name the SSM parameters a function reads (the code reads one only when it is set).
SSM_PARAMETER_VARIABLE = re.compile(r"SPENDWATCH_\w+_PARAMETER")
# What Lambda does with the function's role, whatever its code does.
LOG_ACTIONS = ("logs:CreateLogStream", "logs:PutLogEvents")
TRACING_ACTIONS = ("xray:PutTraceSegments", "xray:PutTelemetryRecords")
DEAD_LETTER_ACTIONS = {"SQS": "sqs:SendMessage", "SNS": "sns:Publish"}
# A function's properties that decide what its role must grant (read from the function itself, never from Globals).
GRANT_PROPERTIES = {"Role", "Policies", "Environment", "LoggingConfig", "Tracing", "DeadLetterQueue", "CodeUri", "Handler"}

# Receivers of AWS calls: a client (``self._client``, ``client``, ``aws.client("sns")``) or a boto3 Table resource.
_CLIENT = re.compile(r"client(\([^()]*\))?$", re.IGNORECASE)
_CLIENT_OR_TABLE = re.compile(r"(client|table)(\([^()]*\))?$", re.IGNORECASE)
# What a client offers besides its operations, none of which calls AWS.
CLIENT_ATTRIBUTES = {"meta", "exceptions", "get_paginator", "can_paginate"}

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
    _parents: dict[int, ast.AST] = field(default_factory=dict)

    @property
    def package(self) -> str:
        return self.name if self.path.name == "__init__.py" else self.name.rpartition(".")[0]

    def _constant(self, name: str) -> Any:
        for stmt in self.tree.body:
            if isinstance(stmt, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in stmt.targets):
                return ast.literal_eval(stmt.value)
        return None

    def declared_actions(self) -> tuple[str, ...] | None:
        value = self._constant("IAM_ACTIONS")
        return None if value is None else tuple(str(v) for v in value)

    def declared_writes(self) -> dict[str, tuple[str | None, ...]]:
        """WRITES_KEYS as qualname -> the key prefixes it writes ((None,): its caller's)."""
        found: dict[str, list[str | None]] = defaultdict(list)
        for entry in self._constant("WRITES_KEYS") or ():
            if not (isinstance(entry, tuple) and len(entry) == 2 and isinstance(entry[0], str)):
                raise ValueError(f"{self.name}: WRITES_KEYS holds (qualname, key prefix or None) pairs, not {entry!r}")
            qualname, prefix = entry
            if prefix is not None and not (isinstance(prefix, str) and prefix and not re.search(r"[*?$]", prefix)):
                raise ValueError(f"{self.name}: WRITES_KEYS prefix {prefix!r} of {qualname} is no literal key prefix")
            found[qualname].append(prefix)
        for qualname, prefixes in found.items():
            if None in prefixes and len(prefixes) > 1:
                raise ValueError(f"{self.name}: {qualname} writes its caller's keys (None) or its own, not both")
        return {q: tuple(p) for q, p in found.items()}

    def roots(self) -> Iterator[ast.AST]:
        """What runs when the module is imported, definitions aside."""
        for stmt in self.tree.body:
            if not isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom)):
                yield stmt

    def parent(self, node: ast.AST) -> ast.AST | None:
        if not self._parents:
            for above in ast.walk(self.tree):
                for child in ast.iter_child_nodes(above):
                    self._parents[id(child)] = above
        return self._parents.get(id(node))

    def enclosing(self, node: ast.AST) -> tuple[ast.FunctionDef | ast.AsyncFunctionDef | None, str | None]:
        """The function ``node`` is in, and its qualname (None for a nested function)."""
        above = self.parent(node)
        while above is not None and not isinstance(above, (ast.FunctionDef, ast.AsyncFunctionDef)):
            above = self.parent(above)
        if above is None:
            return None, None
        return above, next((q for q, n in self.nodes.items() if n is above), None)


@dataclass(frozen=True)
class Call:
    action: str
    where: str  # module:qualname


@dataclass(frozen=True)
class Write:
    action: str
    prefix: str  # the items' partition keys start with it
    where: str


@dataclass
class CodeNeeds:
    """What some code calls, the keys it writes, and what the walker could not tell."""

    calls: set[Call] = field(default_factory=set)
    writes: set[Write] = field(default_factory=set)
    writers: dict[str, set[str]] = field(default_factory=dict)  # where -> the write actions it makes (or delegates)
    index_queries: set[str] = field(default_factory=set)  # where IndexName is passed
    problems: list[str] = field(default_factory=list)

    def add(self, other: CodeNeeds) -> None:
        self.calls |= other.calls
        self.writes |= other.writes
        self.writers |= other.writers
        self.index_queries |= other.index_queries
        self.problems += [p for p in other.problems if p not in self.problems]


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

    def scan(self, module: Module, qualnames: set[str]) -> CodeNeeds:
        """The IAM actions the given parts of ``module`` call, the keys they write, and what could not be told."""
        found = CodeNeeds()
        parts_by_name = {q: (list(module.roots()) if q == "" else self._own_parts(module, q)) for q in sorted(qualnames)}
        powertools = {
            local: target[1].rsplit(".", 1)[1]
            for local, target in module.bindings.items()
            if target[0] == "external" and target[1].startswith(POWERTOOLS_PARAMETERS)
        }
        real = module.name not in NOT_REAL_AWS
        services = self.services(module) if real else ()
        transaction_parts = {
            key
            for parts in parts_by_name.values()
            for part in parts
            for node in ast.walk(part)
            for key in _dict_keys(node)
            if key in TRANSACTION_PARTS
        }
        declared = module.declared_writes()
        for qualname, parts in parts_by_name.items():
            where = f"{module.name}:{qualname or '<module>'}"
            here: set[str] = set()
            for part in parts:
                for node in ast.walk(part):
                    here.update(_powertools_actions(node, powertools))
                    for service in services:
                        if service == "dynamodb" and "IndexName" in set(_dict_keys(node)):
                            found.index_queries.add(where)
                        for operation in _operations_called(node, service):
                            if (service, operation) == ("dynamodb", "TransactWriteItems"):
                                if not transaction_parts:
                                    found.problems.append(
                                        f"{where}: TransactWriteItems whose parts (Put/Update/...) are not visible"
                                    )
                                here.update(TRANSACTION_PARTS[p] for p in transaction_parts)
                                continue
                            here.update(OPERATION_ACTIONS.get((service, operation), {f"{_iam_prefix(service)}:{operation}"}))
                    if real:
                        operations, problems = self._client_use(module, node, services)
                        here.update(f"{_iam_prefix(s)}:{op}" for s, op in operations)
                        found.problems += [f"{where}: {p}" for p in problems]
            found.calls.update(Call(action, where) for action in here)
            writes = {a for a in here if a in WRITE_ACTIONS} | self._delegated_writes(module, parts)
            if not writes:
                continue
            found.writers[where] = writes
            prefixes = declared.get(qualname)
            if prefixes is None:
                found.problems.append(
                    f"{where} writes ({', '.join(sorted(writes))}) but {module.name}'s WRITES_KEYS does not say which keys: "
                    "its grant cannot be checked against dynamodb:LeadingKeys"
                )
            elif None not in prefixes:
                found.writes.update(Write(a, str(p), where) for a in writes for p in prefixes)
        return found

    def _delegated_writes(self, module: Module, parts: list[ast.AST]) -> set[str]:
        """The write actions of the helpers these parts name that write their caller's keys (WRITES_KEYS None)."""
        actions: set[str] = set()
        targets, _ = self._references(module, parts)
        for target in targets:
            if target[0] != "symbol":
                continue
            helper = self.modules[target[1]]
            if None in helper.declared_writes().get(target[2], ()):
                actions |= self.scan(helper, {target[2]}).writers.get(f"{helper.name}:{target[2]}", set())
        return actions

    # -- clients the walker cannot follow ----------------------------------------------------

    def _client_use(self, module: Module, node: ast.AST, services: tuple[str, ...]) -> tuple[list[tuple[str, str]], list[str]]:
        """Where ``node`` is a client: the (service, operation)s it is seen calling here, and why its use
        could hide a call. Only names that say "client" are followed; any other way of holding one is a failure."""
        if isinstance(node, (ast.Name, ast.Attribute)):
            if not isinstance(node.ctx, ast.Load):
                return [], []
        elif not isinstance(node, ast.Call):
            return [], []
        text = ast.unparse(node)
        if not _CLIENT.search(text):
            return [], []
        use: ast.AST = node
        parent = module.parent(use)
        while isinstance(parent, (ast.BoolOp, ast.IfExp)) and use is not getattr(parent, "test", None):
            use, parent = parent, module.parent(parent)  # ``a or client``: the value may be the client
        if isinstance(parent, ast.keyword):
            parent = module.parent(parent)
        if isinstance(parent, ast.Attribute) and parent.value is use:
            if (
                services
                and parent.attr not in CLIENT_ATTRIBUTES
                and not any(parent.attr in _snake_operations(s) for s in services)
            ):
                return [], [f"{text}.{parent.attr} is no operation of {', '.join(services)}: what it calls cannot be told"]
            return [], []
        if isinstance(parent, ast.Call) and parent.func is use:
            return [], []  # the factory: aws.client("sns")
        if isinstance(parent, ast.Call):
            func = parent.func
            if isinstance(func, ast.Name) and func.id == "getattr":
                return self._getattr(module, parent, use, services)
            if (isinstance(func, ast.Name) and func.id == "isinstance") or self._internal_callee(module, func):
                return [], []
            return [], [f"{text} is handed to {ast.unparse(func)}, outside the package: what that calls is not followed"]
        if isinstance(parent, (ast.Assign, ast.AnnAssign)) and parent.value is use:
            targets = parent.targets if isinstance(parent, ast.Assign) else [parent.target]
            for target in targets:
                if "client" not in ast.unparse(target).lower():
                    return [], [
                        f"{text} is kept as {ast.unparse(target)}: calls through a name that does not say client are not seen"
                    ]
            return [], []
        if isinstance(parent, (ast.Compare, ast.UnaryOp)) or (
            isinstance(parent, (ast.If, ast.While, ast.IfExp)) and parent.test is use
        ):
            return [], []  # a test: client is None
        kind = type(parent).__name__ if parent is not None else "module"
        return [], [f"{text} is used as a value ({kind}: {ast.unparse(parent)[:80] if parent else ''}): its calls are not seen"]

    def _internal_callee(self, module: Module, func: ast.expr) -> bool:
        """Whether a call hands its arguments to code the walker follows (or to Powertools' parameters)."""
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id in ("self", "cls"):
            return True
        base = func
        while isinstance(base, ast.Attribute):
            base = base.value
        if isinstance(base, ast.Name):
            bound = module.bindings.get(base.id)
            if bound is not None and bound[0] == "external" and bound[1].startswith(POWERTOOLS_PARAMETERS):
                return True
        target = self._lookup(module, func.id) if isinstance(func, ast.Name) else None
        if isinstance(func, ast.Attribute):
            target = self._attribute_target(module, func)
        return target is not None and target[0] in ("symbol", "module")

    def _getattr(
        self, module: Module, call: ast.Call, client: ast.AST, services: tuple[str, ...]
    ) -> tuple[list[tuple[str, str]], list[str]]:
        text = ast.unparse(call)
        if len(call.args) != 2 or call.args[0] is not client:
            return [], [f"{text}: only getattr(<client>, <operation>) is understood"]
        name = call.args[1]
        if isinstance(name, ast.Constant) and isinstance(name.value, str):
            for service in services:
                if name.value in _snake_operations(service):
                    return [(service, _snake_operations(service)[name.value])], []
            return [], [f"{text}: {name.value!r} is no operation of {', '.join(services) or 'an adapter'}"]
        function, qualname = module.enclosing(call)
        own = _own_parameters(function, qualname) if function is not None else []
        names = {n.id for n in ast.walk(name) if isinstance(n, ast.Name) and not _is_callee(module, n)}
        if qualname is None or not own or names != {own[0]}:
            return [], [f"{text}: the operation's name is computed here, so the walker cannot see it"]
        return [], self._dispatch_problems(module, qualname, services, set())

    def _dispatch_problems(self, module: Module, qualname: str, services: tuple[str, ...], seen: set[str]) -> list[str]:
        """A dispatcher (``getattr(client, <first parameter>)``) is seen through its callers: each must pass an
        operation's name as a literal first argument (which the walker reads), or pass on its own first parameter."""
        if qualname in seen:
            return []
        seen.add(qualname)
        problems: list[str] = []
        short, method = qualname.rsplit(".", 1)[-1], "." in qualname
        for node in ast.walk(module.tree):
            if method:
                hit = (
                    isinstance(node, ast.Attribute)
                    and node.attr == short
                    and isinstance(node.value, ast.Name)
                    and node.value.id in ("self", "cls")
                )
            else:
                hit = isinstance(node, ast.Name) and node.id == short and isinstance(node.ctx, ast.Load)
            if not hit:
                continue
            call = module.parent(node)
            if not (isinstance(call, ast.Call) and call.func is node):
                problems.append(f"{module.name}:{qualname} is used other than called: the operations it is given are not seen")
                continue
            first = call.args[0] if call.args else None
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                if not any(first.value in _operations(s) for s in services):
                    problems.append(f"{module.name}: {ast.unparse(call)} names no operation of {', '.join(services)}")
                continue
            caller, caller_qualname = module.enclosing(call)
            own = _own_parameters(caller, caller_qualname) if caller is not None else []
            if isinstance(first, ast.Name) and caller_qualname is not None and own and first.id == own[0]:
                problems += self._dispatch_problems(module, caller_qualname, services, seen)
                continue
            problems.append(f"{module.name}: {ast.unparse(call)} gives {qualname} an operation name that is not a literal")
        return problems

    def function_needs(self, app_path: Path, handler: str) -> CodeNeeds:
        app = self.load_app(app_path, f"<app {app_path.parent.name}>")
        needs = CodeNeeds()
        for mod, qualnames in self.reach(app, handler).items():
            needs.add(self.scan(self.modules[mod], qualnames))
        return needs


def _own_parameters(function: ast.FunctionDef | ast.AsyncFunctionDef | None, qualname: str | None) -> list[str]:
    """A function's parameters as its callers pass them (a method's self or cls left out)."""
    if function is None:
        return []
    names = [a.arg for a in (*function.args.posonlyargs, *function.args.args)]
    if qualname and "." in qualname and names[:1] in (["self"], ["cls"]):
        return names[1:]
    return names


def _is_callee(module: Module, node: ast.AST) -> bool:
    parent = module.parent(node)
    return isinstance(parent, ast.Call) and parent.func is node


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

PSEUDO_PARAMETERS = {
    "AWS::Partition": "aws",
    "AWS::Region": "eu-west-1",
    "AWS::AccountId": "123456789012",
    "AWS::StackName": "spendwatch",
    "AWS::StackId": "arn:aws:cloudformation:eu-west-1:123456789012:stack/spendwatch/0c9d2a10-5f7e-11ef-8000-0a1b2c3d4e5f",
    "AWS::URLSuffix": "amazonaws.com",
}
# Values tried for a String parameter that a condition depends on (those its AllowedPattern accepts): empty, a
# name, a path, an address, an organization id, a list of regions, an Athena table.
SAMPLE_VALUES = (
    "",
    "spendwatch",
    "/spendwatch/settings",
    "ops@example.com",
    "o-a1b2c3d4e5",
    "us-east-1,eu-west-1",
    "dataexports.focus",
)


class Uninterpretable(Exception):
    """Something in the template the checker does not evaluate: reported as a failure, never passed over."""


class _NoValue:
    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE = _NoValue()


class Stack:
    """The template as CloudFormation resolves it for one set of parameter values: intrinsics evaluated,
    Fn::If branches taken, AWS::NoValue dropped, resources named and given ARNs as CloudFormation would."""

    def __init__(self, template: dict[str, Any], parameters: dict[str, str]) -> None:
        self.template = template
        self.resources: dict[str, Any] = template.get("Resources", {})
        self.parameters = parameters
        self._conditions: dict[str, bool] = {}

    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            if name not in self.template.get("Conditions", {}):
                raise Uninterpretable(f"condition {name} is not defined")
            self._conditions[name] = self._truth(self.template["Conditions"][name])
        return self._conditions[name]

    def _truth(self, node: Any) -> bool:
        if isinstance(node, dict) and len(node) == 1:
            ((key, arg),) = node.items()
            if key == "Fn::Equals":
                left, right = (self.value(v) for v in arg)
                return str(left) == str(right)
            if key == "Fn::Not":
                return not self._truth(arg[0])
            if key == "Fn::And":
                return all(self._truth(a) for a in arg)
            if key == "Fn::Or":
                return any(self._truth(a) for a in arg)
            if key == "Condition":
                return self.condition(arg)
        raise Uninterpretable(f"condition expression {node!r}")

    def value(self, node: Any) -> Any:
        if isinstance(node, list):
            return [v for v in (self.value(item) for item in node) if v is not NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            ((key, arg),) = node.items()
            if key == "Ref":
                return self.ref(arg)
            if key == "Fn::GetAtt":
                logical, _, attribute = arg.partition(".") if isinstance(arg, str) else (arg[0], ".", arg[1])
                return self.get_att(logical, attribute)
            if key == "Fn::Sub":
                return self._sub(arg)
            if key == "Fn::If":
                name, then, otherwise = arg
                return self.value(then if self.condition(name) else otherwise)
            if key == "Fn::Join":
                return str(arg[0]).join(str(v) for v in self.value(arg[1]))
            if key == "Fn::Select":
                return self.value(arg[1])[int(self.value(arg[0]))]
            if key == "Fn::Split":
                return str(self.value(arg[1])).split(arg[0])
            if key.startswith("Fn::"):
                raise Uninterpretable(key)
        resolved = {k: self.value(v) for k, v in node.items()}
        return {k: v for k, v in resolved.items() if v is not NO_VALUE}

    def _sub(self, arg: Any) -> str:
        text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], {k: self.value(v) for k, v in arg[1].items()})

        def one(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return str(variables[name])
            if "." in name and name.split(".", 1)[0] in self.resources:
                return str(self.get_att(*name.split(".", 1)))
            return str(self.ref(name))

        return re.sub(r"\$\{([^}]+)\}", one, text)

    def ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in PSEUDO_PARAMETERS:
            return PSEUDO_PARAMETERS[name]
        if name in self.parameters:
            return self.parameters[name]
        if name in self.resources:
            return self.reference(name)
        raise Uninterpretable(f"Ref {name}")

    def created(self, logical: str) -> bool:
        condition = self.resources[logical].get("Condition")
        return condition is None or self.condition(condition)

    def _name(self, logical: str, key: str) -> str:
        props = self.resources[logical].get("Properties", {})
        name = self.value(props[key]) if key in props else NO_VALUE  # a name under Fn::If may be AWS::NoValue
        return str(name) if name is not NO_VALUE else f"{PSEUDO_PARAMETERS['AWS::StackName']}-{logical}-1EXAMPLE"

    def reference(self, logical: str) -> str:
        if not self.created(logical):
            raise Uninterpretable(f"{logical} is named but not created for these parameter values")
        kind = self.resources[logical]["Type"]
        partition, region, account = self.pseudo()
        if kind == "AWS::SNS::Topic":
            return f"arn:{partition}:sns:{region}:{account}:{self._name(logical, 'TopicName')}"
        if kind == "AWS::SQS::Queue":
            return f"https://sqs.{region}.amazonaws.com/{account}/{self._name(logical, 'QueueName')}"
        if kind == "AWS::KMS::Key":
            return f"{logical.lower()}-0000-4000-8000-example"
        if kind == "AWS::Logs::LogGroup":
            return self._name(logical, "LogGroupName")
        if kind == "AWS::DynamoDB::Table":
            return self._name(logical, "TableName")
        if kind == "AWS::IAM::Role":
            return self._name(logical, "RoleName")
        return f"{PSEUDO_PARAMETERS['AWS::StackName']}-{logical}-1EXAMPLE"

    def get_att(self, logical: str, attribute: str) -> str:
        if logical not in self.resources:
            raise Uninterpretable(f"Fn::GetAtt {logical}.{attribute}: no such resource")
        kind = self.resources[logical]["Type"]
        ref = self.reference(logical)
        partition, region, account = self.pseudo()
        queue = ref.rsplit("/", 1)[-1]
        attributes = {
            "AWS::DynamoDB::Table": {"Arn": f"arn:{partition}:dynamodb:{region}:{account}:table/{ref}"},
            "AWS::SNS::Topic": {"TopicArn": ref, "TopicName": ref.rsplit(":", 1)[-1]},
            "AWS::KMS::Key": {"Arn": f"arn:{partition}:kms:{region}:{account}:key/{ref}", "KeyId": ref},
            "AWS::Logs::LogGroup": {"Arn": f"arn:{partition}:logs:{region}:{account}:log-group:{ref}:*"},
            "AWS::SQS::Queue": {"Arn": f"arn:{partition}:sqs:{region}:{account}:{queue}", "QueueName": queue, "QueueUrl": ref},
            "AWS::IAM::Role": {"Arn": f"arn:{partition}:iam::{account}:role/{ref}"},
        }
        if attribute not in attributes.get(kind, {}):
            raise Uninterpretable(f"Fn::GetAtt {logical}.{attribute} ({kind})")
        return attributes[kind][attribute]

    def pseudo(self) -> tuple[str, str, str]:
        return PSEUDO_PARAMETERS["AWS::Partition"], PSEUDO_PARAMETERS["AWS::Region"], PSEUDO_PARAMETERS["AWS::AccountId"]


def _refs(node: Any) -> Iterator[str]:
    """Every name a piece of template refers to (Ref and ${...} in Fn::Sub)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                yield value
            elif key == "Fn::Sub":
                text = value if isinstance(value, str) else value[0]
                yield from re.findall(r"\$\{([^}!.]+)\}", text)
            yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def _if_conditions(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Fn::If":
                yield value[0]
            yield from _if_conditions(value)
    elif isinstance(node, list):
        for item in node:
            yield from _if_conditions(item)


def _accepts(parameter: dict[str, Any], value: str) -> bool:
    if parameter.get("Type") == "Number":
        try:
            number = float(value)
        except ValueError:
            return False
        return parameter.get("MinValue", number) <= number <= parameter.get("MaxValue", number)
    pattern = parameter.get("AllowedPattern")
    return pattern is None or re.fullmatch(pattern, value) is not None


def _mentions(node: Any) -> Iterator[str]:
    """Every resource or parameter name a piece of template refers to (Ref, Fn::GetAtt, ${...} in Fn::Sub)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                yield value
            elif key == "Fn::GetAtt":
                target = _get_att_target(node)
                if target is not None:
                    yield target[0]
            elif key == "Fn::Sub":
                text = value if isinstance(value, str) else value[0]
                yield from (name.split(".", 1)[0] for name in re.findall(r"\$\{([^}!]+)\}", text))
            yield from _mentions(value)
    elif isinstance(node, list):
        for item in node:
            yield from _mentions(item)


def _condition_names(node: Any) -> Iterator[str]:
    """The conditions a piece of template uses: a resource's Condition, Fn::If, {"Condition": name}."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Condition" and isinstance(value, str):
                yield value
            elif key == "Fn::If" and isinstance(value, list) and value:
                yield value[0]
            yield from _condition_names(value)
    elif isinstance(node, list):
        for item in node:
            yield from _condition_names(item)


def relevant_parameters(template: dict[str, Any], logical_ids: list[str]) -> set[str]:
    """The parameters that decide, through conditions, what the given resources (and what they refer to) are,
    and those the checker's own rules read (whether the stack fans out, the organization): a grant that ignores
    one of them must still be tried with its every value."""
    resources = template.get("Resources", {})
    conditions = template.get("Conditions", {})
    seen: set[str] = set()
    used: set[str] = {FAN_OUT_CONDITION}
    pending = list(logical_ids)
    while pending:
        name = pending.pop()
        if name in seen or name not in resources:
            continue
        seen.add(name)
        used |= set(_condition_names(resources[name]))
        pending.extend(_mentions(resources[name]))
    closure: set[str] = set()
    pending = sorted(used)
    while pending:
        name = pending.pop()
        if name not in closure and name in conditions:
            closure.add(name)
            pending.extend(_condition_names(conditions[name]))
    rules = {ORGANIZATION_PARAMETER, MEMBER_ROLE_PARAMETER}
    return (set(_refs([conditions[c] for c in sorted(closure)])) | rules) & set(template.get("Parameters", {}))


def parameter_sets(template: dict[str, Any], only: list[str] | None = None) -> tuple[list[str], list[dict[str, str]]]:
    """Every combination of the values the Conditions' parameters can take (the others at their defaults):
    the parameters that vary, and one value set per combination. With ``only`` (logical ids), only the
    parameters that decide what those resources are vary (the others cannot change them)."""
    parameters: dict[str, Any] = template.get("Parameters", {})
    defaults = {name: str(p.get("Default", "")) for name, p in parameters.items()}
    varying = sorted(set(_refs(template.get("Conditions", {}))) & set(parameters))
    if only is not None:
        varying = sorted(set(varying) & relevant_parameters(template, only))
    choices = []
    for name in varying:
        parameter = parameters[name]
        if "AllowedValues" in parameter:
            choices.append([str(v) for v in parameter["AllowedValues"]])
        else:
            candidates = dict.fromkeys((defaults[name], *SAMPLE_VALUES))
            choices.append([v for v in candidates if _accepts(parameter, v)])
    return varying, [defaults | dict(zip(varying, combination, strict=True)) for combination in itertools.product(*choices)]


@dataclass(frozen=True)
class Grant:
    sid: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    leading_keys: tuple[str, ...] | None  # the key prefixes (pattern without its *) writes are allowed on
    resource_org: str | None = None  # the organization (aws:ResourceOrgID) the resources must belong to
    tag_guard: str | None = None  # "resource" (RESOURCE_TAG_GUARD) or "request" (REQUEST_TAG_GUARD)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _resource_org(condition: Any) -> str | None:
    """The organization id of a ``StringEquals`` on ``aws:ResourceOrgID`` (the other form understood), else None."""
    if isinstance(condition, dict) and set(condition) == {"StringEquals"}:
        body = condition["StringEquals"]
        if isinstance(body, dict) and set(body) == {"aws:ResourceOrgID"}:
            org = body["aws:ResourceOrgID"]
            if isinstance(org, str) and re.fullmatch(r"o-[a-z0-9]{10,32}", org):
                return org
    return None


def _leading_keys(condition: Any) -> tuple[tuple[str, ...] | None, list[str]]:
    """A statement's Condition, if it is the one form understood: ``ForAllValues:StringLike`` on
    ``dynamodb:LeadingKeys`` with key prefixes (``REC#*``)."""
    if not (isinstance(condition, dict) and set(condition) == {"ForAllValues:StringLike"}):
        return None, [
            f"condition {json.dumps(condition)} cannot be interpreted: only ForAllValues:StringLike on dynamodb:LeadingKeys "
            "(and StringEquals on aws:ResourceOrgID, for an organization's roles) is"
        ]
    body = condition["ForAllValues:StringLike"]
    if not (isinstance(body, dict) and set(body) == {"dynamodb:LeadingKeys"}):
        return None, [
            f"condition keys {sorted(body) if isinstance(body, dict) else body} cannot be interpreted: "
            "only dynamodb:LeadingKeys is"
        ]
    patterns = _as_list(body["dynamodb:LeadingKeys"])
    bad = [p for p in patterns if not (isinstance(p, str) and len(p) > 1 and p.endswith("*") and not re.search(r"[*?$]", p[:-1]))]
    if bad or not patterns:
        return None, [f"dynamodb:LeadingKeys {patterns}: only key prefixes ending in a single * are understood"]
    return tuple(p[:-1] for p in patterns), []


def _interpret(statement: Any) -> tuple[Grant | None, list[str]]:
    """One resolved statement as a grant, or why it cannot be counted as one."""
    if not isinstance(statement, dict):
        return None, [f"statement {statement!r} is no statement"]
    sid = str(statement.get("Sid", "<no Sid>"))
    unknown = set(statement) - {"Sid", "Effect", "Action", "Resource", "Condition"}
    if unknown:
        return None, [
            f"statement {sid}: {', '.join(sorted(unknown))} cannot be interpreted (only Action, Resource and Condition are)"
        ]
    if statement.get("Effect") != "Allow":
        return None, [
            f"statement {sid}: Effect {statement.get('Effect')!r} cannot be interpreted: an explicit Deny could take away "
            "what the code needs; grant less instead"
        ]
    actions, resources = _as_list(statement.get("Action", [])), _as_list(statement.get("Resource", []))
    trouble = [
        f"statement {sid}: action {a!r} is no single action"
        for a in actions
        if not re.fullmatch(r"[a-z0-9-]+:[A-Za-z0-9]+", str(a))
    ]
    trouble += [f"statement {sid}: resource {r!r} is no ARN or *" for r in resources if not isinstance(r, str)]
    if not actions or not resources:
        trouble.append(f"statement {sid}: no Action or no Resource")
    keys: tuple[str, ...] | None = None
    org = _resource_org(statement.get("Condition"))
    guard = {json.dumps(RESOURCE_TAG_GUARD): "resource", json.dumps(REQUEST_TAG_GUARD): "request"}.get(
        json.dumps(statement.get("Condition"))
    )
    if guard is not None:
        allowed = RESOURCE_TAG_GUARDED if guard == "resource" else REQUEST_TAG_GUARDED
        others = sorted(str(a) for a in actions if a not in allowed)
        if others:
            trouble.append(f"statement {sid}: the {guard} tag guard on {others}: only {sorted(allowed)} are held to it")
    elif org is not None:
        others = sorted(str(a) for a in actions if a not in ORGANIZATION_SCOPED_ACTIONS)
        if others:
            trouble.append(
                f"statement {sid}: aws:ResourceOrgID on {others}: only {sorted(ORGANIZATION_SCOPED_ACTIONS)} are held to it"
            )
    elif "Condition" in statement:
        keys, problems = _leading_keys(statement["Condition"])
        trouble += [f"statement {sid}: {p}" for p in problems]
        reads = sorted(a for a in actions if a not in WRITE_ACTIONS)
        if keys is not None and reads:
            trouble.append(
                f"statement {sid}: dynamodb:LeadingKeys on {reads}, whose keys the code does not declare: grant reads apart"
            )
    else:
        writes = sorted(a for a in actions if a in WRITE_ACTIONS)
        if writes:
            trouble.append(f"statement {sid}: {writes} without dynamodb:LeadingKeys may change any item of the table")
    if trouble:
        return None, trouble
    return Grant(sid, tuple(actions), tuple(resources), keys, org, guard), []


def _get_att_target(value: Any) -> tuple[str, str] | None:
    if isinstance(value, dict) and set(value) == {"Fn::GetAtt"}:
        target = value["Fn::GetAtt"]
        logical, _, attribute = target.partition(".") if isinstance(target, str) else (target[0], ".", target[1])
        return logical, attribute
    return None


def role_of(template: dict[str, Any], logical_id: str) -> tuple[str | None, list[str]]:
    """The role whose inline policies are all the function's grants, or why there is none such."""
    resources = template["Resources"]
    props = resources[logical_id]["Properties"]
    inherited = sorted(set(template.get("Globals", {}).get("Function", {})) & GRANT_PROPERTIES)
    if inherited:
        return None, [f"{logical_id}: Globals.Function sets {inherited}, which are not merged here: set them on the function"]
    if "Policies" in props or "Role" not in props:
        return None, [
            f"{logical_id}: no Role of its own: SAM's generated role carries Policies plus AWSLambdaBasicExecutionRole "
            "(logs in every log group of the account)"
        ]
    target = _get_att_target(props["Role"])
    if target is None or target[1] != "Arn" or resources.get(target[0], {}).get("Type") != "AWS::IAM::Role":
        return None, [f"{logical_id}: Role {props['Role']!r} is no AWS::IAM::Role of this template"]
    role = target[0]
    trouble = []
    if resources[role].get("Properties", {}).get("ManagedPolicyArns"):
        trouble.append(f"{role}: managed policies cannot be checked against the code (only inline Policies are)")
    for name, resource in resources.items():
        if resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::IAM::RolePolicy"):
            if json.dumps({"Ref": role}) in json.dumps(resource):
                trouble.append(f"{role}: {name} grants it more, outside its own Policies")
        elif (
            resource["Type"] == "AWS::Serverless::Function"
            and name != logical_id
            and _get_att_target(resource.get("Properties", {}).get("Role")) == (role, "Arn")
        ):
            trouble.append(f"{role}: {name} shares it: a role is checked against one function's code")
    return role, trouble


def _grants(stack: Stack, role: str) -> tuple[list[Grant], list[str]]:
    grants: list[Grant] = []
    trouble: list[str] = []
    for policy in stack.value(stack.resources[role]["Properties"].get("Policies", [])):
        document = policy.get("PolicyDocument", {})
        if document.get("Version") != "2012-10-17":
            trouble.append(f"{role}: policy {policy.get('PolicyName')} is not Version 2012-10-17")
        for statement in _as_list(document.get("Statement", [])):
            grant, problems = _interpret(statement)
            trouble += [f"{role}: {p}" for p in problems]
            if grant is not None:
                grants.append(grant)
    return grants, trouble


def _needed(stack: Stack, logical_id: str, needs: CodeNeeds) -> tuple[dict[tuple[str, str], set[str]], list[str]]:
    """(action, resource) -> who needs it: the code's calls on the resources the function's environment names,
    and what Lambda does with the role."""
    function = stack.resources[logical_id]["Properties"]
    environment: dict[str, Any] = stack.value(function.get("Environment", {}).get("Variables", {}))
    partition, region, account = stack.pseudo()
    named = set(map(str, environment.values()))

    def of_type(kind: str) -> list[str]:
        return [k for k, r in stack.resources.items() if r["Type"] == kind and stack.created(k) and stack.reference(k) in named]

    tables, topics = of_type("AWS::DynamoDB::Table"), of_type("AWS::SNS::Topic")
    parameters = [str(v) for k, v in environment.items() if SSM_PARAMETER_VARIABLE.fullmatch(k)]
    needed: dict[tuple[str, str], set[str]] = defaultdict(set)
    trouble: list[str] = []
    conditions = stack.template.get("Conditions", {})
    # Only the functions the fan-out state machine invokes read other accounts and regions (remediation does not).
    fan_out_role = json.dumps(stack.template["Resources"].get("FanOutStateMachineRole", {}))
    fans_out = (
        FAN_OUT_CONDITION in conditions
        and stack.condition(FAN_OUT_CONDITION)
        and f'"{logical_id}.Arn"' in fan_out_role.replace('", "Arn"]', '.Arn"')
    )
    for call in sorted(needs.calls, key=lambda c: (c.action, c.where)):
        service = call.action.split(":", 1)[0]
        if call.action in PERMISSIONLESS_ACTIONS:
            continue
        if call.action in RESOURCE_LESS_ACTIONS:
            resources = ["*"]
        elif call.action == "sts:AssumeRole":
            if not fans_out:
                continue  # nothing hands the function a member account: no code path assumes a role
            role = stack.parameters.get(MEMBER_ROLE_PARAMETER)
            if not role:
                trouble.append(f"{logical_id}: assumes a role ({call.where}), but no {MEMBER_ROLE_PARAMETER} names it")
                continue
            resources = [MEMBER_ROLE_ARN.format(partition=partition, role=role)]
        elif call.action in ACCOUNT_RESOURCES:
            # A stack that fans out reads its own account too, in every region it watches: any region.
            scope = "*" if fans_out else region
            resources = [arn.format(partition=partition, region=scope, account=account) for arn in ACCOUNT_RESOURCES[call.action]]
        elif service == "dynamodb":
            if len(tables) != 1:
                trouble.append(f"{logical_id}: {call.action} ({call.where}), but its environment names {len(tables)} tables")
                continue
            arn = stack.get_att(tables[0], "Arn")
            indexed = needs.index_queries and call.action in ("dynamodb:Query", "dynamodb:Scan")
            resources = [arn, f"{arn}/index/*"] if indexed else [arn]
        elif service == "sns":
            if len(topics) != 1:
                trouble.append(f"{logical_id}: {call.action} ({call.where}), but its environment names {len(topics)} topics")
                continue
            resources = [stack.reference(topics[0])]
            key = stack.resources[topics[0]].get("Properties", {}).get("KmsMasterKeyId")
            key_arn = str(stack.value(key)) if key is not None else None
            if key_arn is not None and not re.fullmatch(r"arn:[\w-]+:kms:[\w-]+:\d+:key/[\w-]+", key_arn):
                trouble.append(f"{logical_id}: the topic's key {key_arn!r} is no key ARN: its grant cannot be checked")
            elif key_arn is not None:
                for implied in IMPLIED_BY_ENCRYPTED_TOPIC.get(call.action, ()):
                    needed[(implied, key_arn)].add(f"{call.where} (to a KMS-encrypted topic)")
        elif call.action == "ssm:GetParameter":
            if not parameters:
                trouble.append(
                    f"{logical_id}: reads an SSM parameter ({call.where}), but no {SSM_PARAMETER_VARIABLE.pattern} names one"
                )
            resources = [f"arn:{partition}:ssm:{region}:{account}:parameter/{p.lstrip('/')}" for p in parameters if p]
        else:
            trouble.append(f"{logical_id}: no rule here says on which resources {call.action} ({call.where}) is needed")
            continue
        for resource in resources:
            needed[(call.action, resource)].add(call.where)
            if call.action in IMPLIED_BY_TAGGED_CREATE and resource.split(":", 5)[5].startswith("endpoint-config/"):
                needed[(IMPLIED_BY_TAGGED_CREATE[call.action], resource)].add(f"{call.where} (a Create request with Tags)")
    group = function.get("LoggingConfig", {}).get("LogGroup")
    if group is None:
        trouble.append(f"{logical_id}: no LoggingConfig.LogGroup: Lambda would log to a group this stack does not own")
    else:
        for action in LOG_ACTIONS:
            needed[(action, f"arn:{partition}:logs:{region}:{account}:log-group:{stack.value(group)}:*")].add(
                "Lambda (LoggingConfig)"
            )
    if stack.value(function.get("Tracing")) == "Active":
        for action in TRACING_ACTIONS:
            needed[(action, "*")].add("Lambda (Tracing: Active)")
    if "DeadLetterQueue" in function:
        queue = stack.value(function["DeadLetterQueue"])
        if queue.get("Type") not in DEAD_LETTER_ACTIONS:
            trouble.append(f"{logical_id}: DeadLetterQueue {queue!r} cannot be interpreted")
        else:
            needed[(DEAD_LETTER_ACTIONS[queue["Type"]], str(queue["TargetArn"]))].add("Lambda (DeadLetterQueue)")
    return needed, trouble


def _grant_failures(stack: Stack, logical_id: str, role: str, needs: CodeNeeds) -> list[str]:
    grants, failures = _grants(stack, role)
    needed, trouble = _needed(stack, logical_id, needs)
    failures += trouble
    granted: dict[tuple[str, str], str] = {}
    for grant in grants:
        for pair in itertools.product(grant.actions, grant.resources):
            granted.setdefault(pair, grant.sid)
    missing: dict[str, list[str]] = defaultdict(list)
    for action, resource in sorted(set(needed) - set(granted)):
        missing[action].append(resource)
    for action, resources in missing.items():
        who = sorted({w for r in resources for w in needed[(action, r)]})
        failures.append(f"{role} lacks {action} on {resources}, needed by {who}")
    for (action, resource), sid in sorted(granted.items()):
        if (action, resource) not in needed:
            failures.append(f"{role} grants {action} on {resource} (statement {sid}), which nothing the function runs needs")
    for grant in grants:
        for action in grant.actions:
            want = "resource" if action in RESOURCE_TAG_GUARDED else "request" if action in REQUEST_TAG_GUARDED else None
            if want is not None and grant.tag_guard != want:
                failures.append(f"{role}: statement {grant.sid} grants {action} without the {want} tag guard")
    organization = stack.parameters.get(ORGANIZATION_PARAMETER) or None
    for grant in grants:
        scoped = sorted(a for a in grant.actions if a in ORGANIZATION_SCOPED_ACTIONS)
        if scoped and grant.resource_org != organization:
            failures.append(
                f"{role}: statement {grant.sid} holds {scoped} to aws:ResourceOrgID {grant.resource_org!r}, "
                f"but {ORGANIZATION_PARAMETER} is {organization!r}"
            )
    wanted: dict[str, set[str]] = defaultdict(set)
    for write in needs.writes:
        wanted[write.action].add(write.prefix)
    allowed: dict[str, set[str]] = defaultdict(set)
    for grant in grants:
        for action in grant.actions:
            allowed[action] |= set(grant.leading_keys or ())
    for action in sorted(set(wanted) | set(allowed)):
        lacking, surplus = sorted(wanted[action] - allowed[action]), sorted(allowed[action] - wanted[action])
        if lacking:
            who = sorted({w.where for w in needs.writes if w.action == action and w.prefix in lacking})
            failures.append(f"{role}: dynamodb:LeadingKeys for {action} lack {[p + '*' for p in lacking]}, written by {who}")
        if surplus:
            failures.append(
                f"{role}: dynamodb:LeadingKeys let {action} write {[p + '*' for p in surplus]}, which no code of it writes"
            )
    return failures


def check_function(template: dict[str, Any], logical_id: str, needs: CodeNeeds) -> list[str]:
    """Everything wrong with a function's grants, for every set of parameter values (each failure once, with
    the first parameter values it occurs for unless it occurs for all)."""
    failures: list[str] = [f"{logical_id}'s code: {p}" for p in needs.problems]
    role, trouble = role_of(template, logical_id)
    failures += trouble
    if role is None:
        return failures
    varying, value_sets = parameter_sets(template, [logical_id, role])
    for name in sorted(set(_if_conditions(template["Resources"][role])) | set(_if_conditions(template["Resources"][logical_id]))):
        try:
            seen = {Stack(template, values).condition(name) for values in value_sets}
        except Uninterpretable as exc:
            failures.append(f"{role}: condition {name} cannot be interpreted: {exc}")
            continue
        if len(seen) < 2:
            failures.append(
                f"{role}: condition {name} is {seen.pop()} for every parameter value tried: its other branch is never checked"
            )
    found: dict[str, list[str]] = {}
    checked = 0
    for values in value_sets:
        stack = Stack(template, values)
        try:
            if not stack.created(logical_id):
                continue  # a function under a Condition: nothing to grant where it is not created
            checked += 1
            trouble = _grant_failures(stack, logical_id, role, needs)
        except Uninterpretable as exc:
            trouble = [f"{role}: cannot interpret {exc}"]
        label = ", ".join(f"{name}={values[name]!r}" for name in varying)
        for failure in trouble:
            found.setdefault(failure, []).append(label)
    if not checked and not found:
        failures.append(f"{logical_id} is created for no parameter values tried: its grants are never checked")
    for failure, labels in found.items():
        failures.append(
            failure if len(labels) == checked else f"{failure} [when {labels[0]}: {len(labels)} of {checked} value sets]"
        )
    return failures


TEMPLATE = load_template()
FUNCTIONS = sorted(k for k, v in TEMPLATE["Resources"].items() if v["Type"] == "AWS::Serverless::Function")


@cache
def code_index() -> CodeIndex:
    return CodeIndex(PACKAGE_ROOT)


def app_of(template: dict[str, Any], logical_id: str, repo: Path = REPO) -> tuple[Path, str]:
    props = template["Resources"][logical_id]["Properties"]
    module, _, handler = props["Handler"].rpartition(".")
    return repo / props["CodeUri"] / f"{module.replace('.', '/')}.py", handler


@cache
def needs_of(logical_id: str) -> CodeNeeds:
    app, handler = app_of(TEMPLATE, logical_id)
    return code_index().function_needs(app, handler)


def role_statements(template: dict[str, Any], logical_id: str) -> list[Any]:
    """The raw statements of a function's role, every Fn::If branch included."""
    role, _ = role_of(template, logical_id)
    assert role is not None, logical_id
    statements: list[Any] = []
    for policy in template["Resources"][role]["Properties"]["Policies"]:
        for statement in _as_list(policy["PolicyDocument"]["Statement"]):
            statements.extend(_branches(statement))
    return statements


def _branches(value: Any) -> Iterator[Any]:
    if isinstance(value, dict) and set(value) == {"Fn::If"}:
        for branch in value["Fn::If"][1:]:
            yield from _branches(branch)
    elif value != {"Ref": "AWS::NoValue"}:
        yield value


# -- tests -------------------------------------------------------------------------------------


def test_template_has_the_three_functions() -> None:
    assert {"IdleScanFunction", "CostMeterFunction", "NotifierFunction"} <= set(FUNCTIONS)
    for logical_id in FUNCTIONS:
        app, _ = app_of(TEMPLATE, logical_id)
        assert app.parent.is_dir(), f"{logical_id}: CodeUri {app.parent} does not exist"


@pytest.mark.parametrize("logical_id", FUNCTIONS)
def test_role_grants_exactly_what_the_function_needs(logical_id: str) -> None:
    """Actions and resources, for every parameter set, and the ledger keys each function writes."""
    app, _ = app_of(TEMPLATE, logical_id)
    if not app.exists():
        pytest.skip(f"{app.relative_to(REPO)} is not written yet: {logical_id}'s role cannot be checked against it")
    failures = check_function(TEMPLATE, logical_id, needs_of(logical_id))
    assert not failures, "\n".join(failures)


def test_each_function_writes_only_its_own_keys() -> None:
    """What the LeadingKeys conditions hold the functions to: the scan writes reports, the meter the
    ledger and its memory, the notifier what it sent. No two functions share a prefix, so none can
    overwrite another's items (the scanner no cost record)."""
    owned = {f: {w.prefix for w in needs_of(f).writes} for f in FUNCTIONS}
    assert owned["IdleScanFunction"] == {"REPORT#idle-scan#"}
    assert owned["CostMeterFunction"] == {"REC#", "ROLLUP#", "STATE#meter#", "STATE#snapshot#", "SNAPSHOT#", "PRICE#"}
    assert owned["NotifierFunction"] == {"SENT#"}
    assert owned["RemediationFunction"] == {"ACTION#"}
    for one, other in itertools.combinations(FUNCTIONS, 2):
        clash = [(a, b) for a in owned[one] for b in owned[other] if a.startswith(b) or b.startswith(a)]
        assert not clash, f"{one} and {other} may write the same keys: {clash}"


def test_no_code_queries_an_index_so_no_role_grants_one() -> None:
    """The table keeps gsi1 for operators' queries (README); a function gets index permission only
    when its code passes IndexName, and none does."""
    assert not any(needs_of(f).index_queries for f in FUNCTIONS)
    for logical_id in FUNCTIONS:
        text = json.dumps(role_statements(TEMPLATE, logical_id))
        assert "/index/" not in text, logical_id


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
    # A function's role names every action in full.
    roles = {role_of(TEMPLATE, f)[0] for f in FUNCTIONS}
    in_functions = [(p, a) for p, a in actions if any(f".{r}." in p for r in roles)]
    assert in_functions
    assert not [(p, a) for p, a in in_functions if "*" in a]


@pytest.mark.parametrize("logical_id", FUNCTIONS)
def test_unscoped_only_where_the_api_allows_no_resource(logical_id: str) -> None:
    for statement in role_statements(TEMPLATE, logical_id):
        if "*" in _as_list(statement["Resource"]):
            assert set(_as_list(statement["Action"])) <= RESOURCE_LESS_ACTIONS, statement


def test_every_condition_branch_is_checked() -> None:
    """The parameter sets reach both branches of every condition the roles use."""
    varying, _ = parameter_sets(TEMPLATE)
    assert {"PricesParameterName", "BudgetsParameterName", "OrganizationMode", "OrganizationId"} <= set(varying)
    for logical_id in FUNCTIONS:
        role, _ = role_of(TEMPLATE, logical_id)
        assert role is not None
        _, value_sets = parameter_sets(TEMPLATE, [logical_id, role])
        for name in set(_if_conditions(TEMPLATE["Resources"][role])):
            assert {Stack(TEMPLATE, values).condition(name) for values in value_sets} == {True, False}, name


def test_every_adapter_declares_what_it_calls() -> None:
    """Adapters are discovered, not listed: each module under spendwatch/aws that uses a client
    names its service (IAM_ACTIONS), the walker sees at least one of its calls, every call it
    makes is in its IAM_ACTIONS, and WRITES_KEYS names exactly its writers."""
    index = code_index()
    adapters = 0
    for name, module in sorted(index.modules.items()):
        if not name.startswith("spendwatch.aws.") or name.startswith("<"):
            continue
        if not index.services(module):
            assert not index.client_calls(module), (
                f"{name} calls AWS ({index.client_calls(module)}) but declares no IAM_ACTIONS (or ADAPTER_SERVICES entry)"
            )
            assert not module.declared_writes(), f"{name} declares WRITES_KEYS but is no adapter"
            continue
        adapters += 1
        found = index.scan(module, {"", *module.nodes})
        assert not found.problems, found.problems
        seen = {c.action for c in found.calls}
        assert seen, f"{name} declares {module.declared_actions()} but the walker sees none of its calls"
        declared = set(module.declared_actions() or ())
        if declared:
            assert seen <= declared, f"{name} calls {sorted(seen - declared)} without declaring them in IAM_ACTIONS"
        writers = {where.split(":", 1)[1] for where in found.writers}
        stale = sorted(set(module.declared_writes()) - writers)
        assert not stale, f"{name}'s WRITES_KEYS names {stale}, which write nothing"
    assert adapters >= 4


def test_only_adapters_talk_to_aws() -> None:
    """Other modules may make clients and hand them to adapters, nothing else: no call, and no
    client kept under another name."""
    index = code_index()
    for name, module in index.modules.items():
        if name.startswith(("spendwatch.aws.", "<")) or name in NOT_REAL_AWS:
            continue
        assert not index.client_calls(module), f"{name} calls a client directly: {index.client_calls(module)}"
        found = index.scan(module, {"", *module.nodes})
        assert not found.problems, found.problems
        assert not found.writers, f"{name} writes to DynamoDB itself: {found.writers}"


# -- the checker against the real template, mutated: each mutation must fail it --------------------


def _role(template: dict[str, Any], logical_id: str) -> dict[str, Any]:
    role, _ = role_of(template, logical_id)
    assert role is not None
    found: dict[str, Any] = template["Resources"][role]
    return found


def _statement(template: dict[str, Any], logical_id: str, sid: str) -> dict[str, Any]:
    (found,) = [s for s in role_statements(template, logical_id) if isinstance(s, dict) and s.get("Sid") == sid]
    return found


def _statements(template: dict[str, Any], logical_id: str) -> list[Any]:
    found: list[Any] = _role(template, logical_id)["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    return found


def _add(template: dict[str, Any], logical: str, kind: str) -> None:
    template["Resources"][logical] = {"Type": kind, "Properties": {}}


def _another_table(t: dict[str, Any]) -> None:
    _add(t, "OtherTable", "AWS::DynamoDB::Table")
    _statement(t, "CostMeterFunction", "LedgerPut")["Resource"] = {"Fn::GetAtt": ["OtherTable", "Arn"]}


def _a_table_outside_the_stack(t: dict[str, Any]) -> None:
    arn = "arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/someone-elses"
    _statement(t, "IdleScanFunction", "LedgerWrite")["Resource"] = {"Fn::Sub": arn}


def _another_topic(t: dict[str, Any]) -> None:
    _add(t, "OtherTopic", "AWS::SNS::Topic")
    _statement(t, "NotifierFunction", "Publish")["Resource"] = {"Ref": "OtherTopic"}


def _the_index(t: dict[str, Any]) -> None:
    _statement(t, "NotifierFunction", "LedgerRead")["Resource"] = [
        {"Fn::GetAtt": ["LedgerTable", "Arn"]},
        {"Fn::Sub": "${LedgerTable.Arn}/index/*"},
    ]


def _logs_everywhere(t: dict[str, Any]) -> None:
    _statement(t, "IdleScanFunction", "OwnLogGroup")["Resource"] = "*"


def _another_functions_logs(t: dict[str, Any]) -> None:
    _statement(t, "CostMeterFunction", "OwnLogGroup")["Resource"] = {"Fn::GetAtt": ["NotifierLogGroup", "Arn"]}


def _another_parameter(t: dict[str, Any]) -> None:
    arn = "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter/someone-elses"
    _statement(t, "NotifierFunction", "BudgetsParameter")["Resource"] = {"Fn::Sub": arn}


def _publish_in_one_branch(t: dict[str, Any]) -> None:
    statements = _statements(t, "NotifierFunction")
    (index,) = [i for i, s in enumerate(statements) if s.get("Sid") == "Publish"]
    statements[index] = {"Fn::If": ["HasBudgetsParameter", statements[index], {"Ref": "AWS::NoValue"}]}


def _action_in_one_branch(t: dict[str, Any]) -> None:
    read = _statement(t, "CostMeterFunction", "LedgerRead")
    read["Action"] = {"Fn::If": ["HasPricesParameter", ["dynamodb:GetItem", "dynamodb:Query"], ["dynamodb:Query"]]}


def _a_condition_always_true(t: dict[str, Any]) -> None:
    t["Conditions"]["HasPricesParameter"] = {"Fn::Equals": ["same", "same"]}


def _an_impossible_condition(t: dict[str, Any]) -> None:
    _statement(t, "IdleScanFunction", "PriceList")["Condition"] = {"StringEquals": {"aws:RequestedRegion": "nowhere-1"}}


def _keys_nobody_writes(t: dict[str, Any]) -> None:
    condition = _statement(t, "IdleScanFunction", "LedgerWrite")["Condition"]
    condition["ForAllValues:StringLike"]["dynamodb:LeadingKeys"] = ["NOTHING#*"]


def _scanner_overwrites_cost_records(t: dict[str, Any]) -> None:
    _statement(t, "IdleScanFunction", "LedgerWrite")["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"].append(
        "REC#*"
    )


def _writes_without_leading_keys(t: dict[str, Any]) -> None:
    del _statement(t, "NotifierFunction", "LedgerWrite")["Condition"]


def _leading_keys_on_reads(t: dict[str, Any]) -> None:
    _statement(t, "CostMeterFunction", "LedgerRead")["Condition"] = {
        "ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["REC#*"]}
    }


def _another_operator(t: dict[str, Any]) -> None:
    condition = _statement(t, "NotifierFunction", "LedgerWrite")["Condition"]
    condition["ForAllValues:StringEquals"] = condition.pop("ForAllValues:StringLike")


def _an_explicit_deny(t: dict[str, Any]) -> None:
    deny = {
        "Sid": "NoRecords",
        "Effect": "Deny",
        "Action": "dynamodb:PutItem",
        "Resource": {"Fn::GetAtt": ["LedgerTable", "Arn"]},
    }
    _statements(t, "CostMeterFunction").append(deny)


def _not_action(t: dict[str, Any]) -> None:
    statement = _statement(t, "IdleScanFunction", "PriceList")
    statement["NotAction"] = statement.pop("Action")


def _sam_generated_role(t: dict[str, Any]) -> None:
    props = t["Resources"]["NotifierFunction"]["Properties"]
    target = _get_att_target(props.pop("Role"))
    assert target is not None
    role = target[0]
    props["Policies"] = [policy["PolicyDocument"] for policy in t["Resources"].pop(role)["Properties"]["Policies"]]


def _a_managed_policy(t: dict[str, Any]) -> None:
    arn = {"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"}
    _role(t, "IdleScanFunction")["Properties"]["ManagedPolicyArns"] = [arn]


def _tracing_from_globals(t: dict[str, Any]) -> None:
    t["Globals"] = {"Function": {"Tracing": "Active"}}


def _an_unknown_intrinsic(t: dict[str, Any]) -> None:
    _statement(t, "NotifierFunction", "Publish")["Resource"] = {"Fn::ImportValue": "shared-topic"}


def _remediation_without_tag_guard(t: dict[str, Any]) -> None:
    del _statement(t, "RemediationFunction", "SageMakerChangeEndpoints")["Condition"]


def _tag_guard_on_reads(t: dict[str, Any]) -> None:
    _statement(t, "RemediationFunction", "SageMakerEndpointsRead")["Condition"] = copy.deepcopy(RESOURCE_TAG_GUARD)


def _any_endpoint_config_created(t: dict[str, Any]) -> None:
    del _statement(t, "RemediationFunction", "SageMakerScaleToZeroConfigs")["Condition"]


def _the_scanner_deletes(t: dict[str, Any]) -> None:
    _statements(t, "IdleScanFunction").append(copy.deepcopy(_statement(t, "RemediationFunction", "SageMakerChangeEndpoints")))


def _no_tracing_grant(t: dict[str, Any]) -> None:
    statements = _statements(t, "IdleScanFunction")
    statements.remove(_statement(t, "IdleScanFunction", "Tracing"))


MUTATIONS: dict[str, tuple[str, Callable[[dict[str, Any]], None], str]] = {
    "write to another table of the stack": ("CostMeterFunction", _another_table, "lacks dynamodb:PutItem"),
    "write to a table outside the stack": ("IdleScanFunction", _a_table_outside_the_stack, "table/someone-elses"),
    "publish to another topic": ("NotifierFunction", _another_topic, "lacks sns:Publish"),
    "index permission no code uses": ("NotifierFunction", _the_index, "/index/*"),
    "logs in every log group": ("IdleScanFunction", _logs_everywhere, "grants logs:PutLogEvents on *"),
    "logs in another function's group": ("CostMeterFunction", _another_functions_logs, "lacks logs:CreateLogStream"),
    "another SSM parameter": ("NotifierFunction", _another_parameter, "parameter/someone-elses"),
    "a statement only in one Fn::If branch": ("NotifierFunction", _publish_in_one_branch, "lacks sns:Publish"),
    "an action only in one Fn::If branch": ("CostMeterFunction", _action_in_one_branch, "lacks dynamodb:GetItem"),
    "a condition whose other branch is never taken": ("IdleScanFunction", _a_condition_always_true, "never checked"),
    "an impossible condition": ("IdleScanFunction", _an_impossible_condition, "cannot be interpreted"),
    "LeadingKeys no code writes": ("IdleScanFunction", _keys_nobody_writes, "lack ['REPORT#idle-scan#*']"),
    "the scanner may overwrite cost records": ("IdleScanFunction", _scanner_overwrites_cost_records, "write ['REC#*']"),
    "a write without LeadingKeys": ("NotifierFunction", _writes_without_leading_keys, "may change any item"),
    "LeadingKeys on reads": ("CostMeterFunction", _leading_keys_on_reads, "LeadingKeys on ['dynamodb:GetItem'"),
    "another condition operator": ("NotifierFunction", _another_operator, "cannot be interpreted"),
    "an explicit Deny": ("CostMeterFunction", _an_explicit_deny, "explicit Deny"),
    "NotAction": ("IdleScanFunction", _not_action, "NotAction cannot be interpreted"),
    "SAM's generated role": ("NotifierFunction", _sam_generated_role, "AWSLambdaBasicExecutionRole"),
    "a managed policy": ("IdleScanFunction", _a_managed_policy, "managed policies"),
    "an intrinsic not evaluated": ("NotifierFunction", _an_unknown_intrinsic, "cannot interpret Fn::ImportValue"),
    "X-Ray not granted": ("IdleScanFunction", _no_tracing_grant, "lacks xray:PutTraceSegments"),
    "settings from Globals": ("CostMeterFunction", _tracing_from_globals, "Globals.Function sets ['Tracing']"),
    "remediation's changes without the tag guard": (
        "RemediationFunction",
        _remediation_without_tag_guard,
        "grants sagemaker:DeleteEndpoint without the resource tag guard",
    ),
    "the tag guard on reads": ("RemediationFunction", _tag_guard_on_reads, "only ['sagemaker:DeleteEndpoint'"),
    "endpoint configs created without their tag": (
        "RemediationFunction",
        _any_endpoint_config_created,
        "grants sagemaker:CreateEndpointConfig without the request tag guard",
    ),
    "the scanner may delete endpoints": ("IdleScanFunction", _the_scanner_deletes, "grants sagemaker:DeleteEndpoint"),
}


def test_the_real_template_passes_the_checker_unmutated() -> None:
    """The mutations below start from a template the checker passes."""
    for logical_id in FUNCTIONS:
        assert not check_function(copy.deepcopy(TEMPLATE), logical_id, needs_of(logical_id)), logical_id


@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
def test_the_checker_fails_each_mutated_role(mutation: str) -> None:
    """Each way a role can grant the wrong thing, or hide what it grants, fails the check (and for
    the reason it should)."""
    logical_id, mutate, reason = MUTATIONS[mutation]
    template = copy.deepcopy(TEMPLATE)
    mutate(template)
    failures = check_function(template, logical_id, needs_of(logical_id))
    assert failures, f"{mutation}: the checker passed it"
    assert any(reason in f for f in failures), f"{mutation}: failed, but not for {reason!r}: {failures}"


# -- the walker itself, on a package made for the purpose -------------------------------------------

_FAKE = {
    "spendwatch/__init__.py": "",
    "spendwatch/aws/__init__.py": "",
    "spendwatch/aws/store.py": """
IAM_ACTIONS = ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:ConditionCheckItem",
               "dynamodb:DeleteItem", "dynamodb:Scan")
WRITES_KEYS = (("Store.write", "ITEM#"), ("Store.move", "ITEM#"), ("Store.move", "TOTAL#"), ("Store.forget", "ITEM#"))
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


def _write_package(root: Path, files: dict[str, str]) -> None:
    for relative, text in files.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(text.lstrip())


def test_walker_follows_symbols_and_every_call_pattern(tmp_path: Path) -> None:
    _write_package(tmp_path, _FAKE)
    index = CodeIndex(tmp_path)
    needs = index.function_needs(tmp_path / "functions/one/app.py", "handler")
    assert not needs.problems
    # write/forget are never used, Inventory never named: their calls are not this function's.
    assert {c.action for c in needs.calls} == {
        "dynamodb:GetItem",
        "dynamodb:UpdateItem",
        "dynamodb:ConditionCheckItem",
        "ssm:GetParameter",
    }
    # The transaction's Update writes the keys Store.move declares (a ConditionCheck writes nothing).
    assert {(w.action, w.prefix) for w in needs.writes} == {("dynamodb:UpdateItem", "ITEM#"), ("dynamodb:UpdateItem", "TOTAL#")}
    index = CodeIndex(tmp_path)
    needs = index.function_needs(tmp_path / "functions/two/app.py", "handler")
    assert {c.action for c in needs.calls} == {"sns:Publish", "dynamodb:Scan"}
    assert not needs.writes
    # The whole of each adapter, as test_every_adapter_declares_what_it_calls sees it; _pages dispatches by name.
    inventory = index.modules["spendwatch.aws.inventory"]
    found = index.scan(inventory, {"", *inventory.nodes})
    assert {c.action for c in found.calls} == {"sagemaker:ListEndpoints"}
    assert not found.problems


# -- the whole check on a small package and template, with the code mutated --------------------------

_STORE = """
IAM_ACTIONS = ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem")
WRITES_KEYS = (("Store.save", "ITEM#"), ("put_raw", None))
class Store:
    def __init__(self, client, table):
        self._client = client
        self._table = table
    def load(self, key):
        return self._client.get_item(TableName=self._table, Key=key)
    def save(self, item):
        self._client.put_item(TableName=self._table, Item=item)
def put_raw(client, table, item):
    client.put_item(TableName=table, Item=item)
"""
_SMALL = {
    "spendwatch/__init__.py": "",
    "spendwatch/aws/__init__.py": "",
    "spendwatch/aws/store.py": _STORE,
    "spendwatch/handlers.py": """
from spendwatch.aws.store import Store
def run(client):
    store = Store(client, "t")
    store.save(store.load({}))
""",
    "functions/one/app.py": "from spendwatch import handlers\ndef handler(event, context):\n    return handlers.run(1)\n",
}
_SAVE = "        self._client.put_item(TableName=self._table, Item=item)\n"
_DELETE = "(TableName=self._table, Key={})\n"
# Each hides (or adds) a DeleteItem the role does not grant, or a write whose keys are undeclared.
CODE_MUTATIONS = {
    "a client kept under another name": (_SAVE, _SAVE + "        db = self._client\n        db.delete_item" + _DELETE),
    "a client stored as another attribute": (
        "        self._client = client\n",
        "        self._client = client\n        self._db = client\n",
    ),
    "a client returned": (
        _SAVE,
        _SAVE + "        self.raw().delete_item" + _DELETE + "    def raw(self):\n        return self._client\n",
    ),
    "getattr with a literal": (_SAVE, _SAVE + '        getattr(self._client, "delete_item")' + _DELETE),
    "getattr with a computed name": (_SAVE, _SAVE + '        getattr(self._client, "delete" + "_item")' + _DELETE),
    "getattr with a local variable": (_SAVE, _SAVE + '        op = "delete_item"\n        getattr(self._client, op)' + _DELETE),
    "a dispatcher given a computed name": (
        _SAVE,
        _SAVE
        + '        self._call("Delete" + "Item", TableName=self._table, Key={})\n'
        + "    def _call(self, operation, **kwargs):\n        return getattr(self._client, operation)(**kwargs)\n",
    ),
    "a dispatcher passed around": (
        _SAVE,
        _SAVE
        + '        list(map(self._call, ["DeleteItem"]))\n'
        + "    def _call(self, operation, **kwargs):\n        return getattr(self._client, operation)(**kwargs)\n",
    ),
    "a client handed outside the package": (
        _SAVE,
        _SAVE + '        import operator\n        operator.methodcaller("delete_item", Key={})(self._client)\n',
    ),
    "an attribute that is no operation": (_SAVE, _SAVE + '        self._client._make_api_call("DeleteItem", {})\n'),
    "an undeclared writer": (
        _SAVE,
        _SAVE + "        self.forget()\n    def forget(self):\n        self._client.delete_item" + _DELETE,
    ),
}


def _small_template() -> dict[str, Any]:
    table = {"Fn::GetAtt": ["Table", "Arn"]}
    statements = [
        {"Sid": "Logs", "Effect": "Allow", "Action": list(LOG_ACTIONS), "Resource": {"Fn::GetAtt": ["OneLogGroup", "Arn"]}},
        {"Sid": "Read", "Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": table},
        {
            "Sid": "Write",
            "Effect": "Allow",
            "Action": "dynamodb:PutItem",
            "Resource": table,
            "Condition": {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["ITEM#*"]}},
        },
    ]
    function = {
        "CodeUri": "functions/one",
        "Handler": "app.handler",
        "Role": {"Fn::GetAtt": ["OneRole", "Arn"]},
        "LoggingConfig": {"LogGroup": {"Ref": "OneLogGroup"}},
        "Environment": {"Variables": {"SPENDWATCH_TABLE_NAME": {"Ref": "Table"}}},
    }
    return {
        "Resources": {
            "Table": {"Type": "AWS::DynamoDB::Table", "Properties": {}},
            "OneLogGroup": {
                "Type": "AWS::Logs::LogGroup",
                "Properties": {"LogGroupName": {"Fn::Sub": "/aws/lambda/${AWS::StackName}-one"}},
            },
            "OneRole": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "Policies": [{"PolicyName": "one", "PolicyDocument": {"Version": "2012-10-17", "Statement": statements}}]
                },
            },
            "OneFunction": {"Type": "AWS::Serverless::Function", "Properties": function},
        }
    }


def _small_check(root: Path, files: dict[str, str]) -> list[str]:
    _write_package(root, files)
    template = _small_template()
    app, handler = app_of(template, "OneFunction", root)
    return check_function(template, "OneFunction", CodeIndex(root).function_needs(app, handler))


def test_the_small_package_passes_the_checker_unmutated(tmp_path: Path) -> None:
    assert _small_check(tmp_path, _SMALL) == []


@pytest.mark.parametrize("mutation", sorted(CODE_MUTATIONS))
def test_the_checker_fails_each_hidden_call(tmp_path: Path, mutation: str) -> None:
    """A client reached through an alias, a getattr or code the walker does not follow fails the
    check: either the walker sees the call (and the role lacks it) or it says what it cannot see."""
    old, new = CODE_MUTATIONS[mutation]
    assert old in _STORE
    failures = _small_check(tmp_path, _SMALL | {"spendwatch/aws/store.py": _STORE.replace(old, new, 1)})
    assert failures, f"{mutation}: the checker passed it"


def test_a_helper_that_writes_its_callers_keys_needs_a_declared_caller(tmp_path: Path) -> None:
    """``put_raw`` writes whatever key it is given (WRITES_KEYS None): code that calls it must say which."""
    handlers = "from spendwatch.aws.store import put_raw\ndef run(client):\n    put_raw(client, 't', {})\n"
    failures = _small_check(tmp_path, _SMALL | {"spendwatch/handlers.py": handlers})
    assert any("spendwatch.handlers:run writes (dynamodb:PutItem)" in f for f in failures), failures
