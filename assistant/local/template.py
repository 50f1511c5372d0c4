"""Read ``template.yaml`` so the local twin is built from the same definitions as the cloud stack."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from assistant.local.envelopes import PHONE_NUMBER_ARN


class _CfnLoader(yaml.SafeLoader):
    """A SafeLoader that reads CloudFormation's short tags (``!Ref X`` -> ``{"Ref": "X"}``)."""


def _tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = suffix if suffix in ("Ref", "Condition") else f"Fn::{suffix}"
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = str(value).split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_CfnLoader.add_multi_constructor("!", _tag)


def default_template_path() -> Path:
    """The project's ``template.yaml``, as the package ships it (a link to it in a checkout, a copy in a
    wheel: ``assistant.local.bundled``)."""
    from assistant.local.bundled import TEMPLATE

    return TEMPLATE


def load_template(path: Path | None = None) -> dict[str, Any]:
    with (path or default_template_path()).open(encoding="utf-8") as handle:
        document = yaml.load(handle, Loader=_CfnLoader)  # noqa: S506 - a SafeLoader subclass
    if not isinstance(document, dict) or "Resources" not in document:
        raise ValueError("not a CloudFormation template")
    return document


@dataclass(frozen=True, slots=True)
class FunctionSpec:
    logical_id: str
    handler: str
    queue: dict[str, Any]
    batch_size: int
    environment: dict[str, Any]
    timeout_seconds: int = 3
    memory_mb: int = 128


def resources_of(template: dict[str, Any], type_: str) -> dict[str, dict[str, Any]]:
    """The resources of one type that the twin's parameters create: one whose ``Condition`` does not hold
    for them (the optional on-call secret, the alarm e-mail subscription) is left out, as CloudFormation
    would leave it out."""
    return {
        name: resource.get("Properties") or {}
        for name, resource in template["Resources"].items()
        if resource.get("Type") == type_
        and (resource.get("Condition") is None or condition_holds(template, resource["Condition"]))
    }


def functions(template: dict[str, Any]) -> list[FunctionSpec]:
    """Every function with an SQS event source, with its environment (Globals merged with its own)."""
    globals_ = template.get("Globals", {}).get("Function", {})
    global_env = globals_.get("Environment", {}).get("Variables", {})
    specs = []
    for name, props in resources_of(template, "AWS::Serverless::Function").items():
        env = dict(global_env) | (props.get("Environment", {}).get("Variables") or {})
        for event in (props.get("Events") or {}).values():
            if event.get("Type") == "SQS":
                specs.append(
                    FunctionSpec(
                        logical_id=name,
                        handler=props["Handler"],
                        queue=event["Properties"]["Queue"],
                        batch_size=int(event["Properties"].get("BatchSize", 10)),
                        environment=env,
                        timeout_seconds=int(props.get("Timeout", globals_.get("Timeout", 3))),
                        memory_mb=int(props.get("MemorySize", globals_.get("MemorySize", 128))),
                    )
                )
    return specs


PSEUDO_PARAMETERS = {
    "AWS::Region": "us-east-1",
    "AWS::Partition": "aws",
    "AWS::AccountId": "123456789012",
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::StackName": "local",
    "AWS::StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/local/"
    "00000000-0000-4000-8000-000000000000",
}
LOCAL_PHONE_NUMBER_ARNS = (
    PHONE_NUMBER_ARN,
    "arn:aws:social-messaging:us-east-1:123456789012:phone-number-id/11111111111111111111111111111111",
    "arn:aws:social-messaging:us-east-1:123456789012:phone-number-id/976c72a700aac43eaf573ae050example",
    "arn:aws:social-messaging:us-east-XXXXXXXXXXXX:XXXXXXXXXXXX:phone-number-id/"
    "XXXXXXXXXXXXdXXXXXXXXXXXXddXXXXXXXXXXXXcbXXXXXXXXXXXXbXXXXXXXXXXXXafXXXXXXXXXXXX",
)
"""The numbers of the local WhatsApp business account: the one ``assistant chat`` writes to
(``assistant.local.envelopes``), then those of the envelopes that ship with the project, which the tests and
``examples/events.jsonl`` replay (the captured End User Messaging envelopes, AWS's documented example, a real
capture with its numbers masked). The twin deploys with the first as ``PhoneNumberArn``; its inbound
subscription admits them all (``filter_policy``), where a deployed stack admits its own number alone: an
envelope for any other number is dropped by SNS, here as there."""
LOCAL_PARAMETERS: Mapping[str, str] = {"PhoneNumberArn": LOCAL_PHONE_NUMBER_ARNS[0]}
"""The parameter values the twin deploys with (as ``sam deploy --parameter-overrides``); the others take
their defaults."""

_SUB = re.compile(r"\$\{([^}!][^}]*)\}")
_FUNCTIONS = ("GetAtt", "Sub", "If", "Equals", "Not", "And", "Or", "FindInMap", "Select", "Split", "Join")
_INTRINSICS = frozenset({"Ref", "Condition"} | {f"Fn::{name}" for name in _FUNCTIONS})


class _NoValue:
    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE: Any = _NoValue()
"""What ``Ref AWS::NoValue`` resolves to: left out of the list or mapping that holds it."""


def local_id(logical_id: str, attribute: str | None = None) -> str:
    """The stand-in value of a resource moto does not create (a Bedrock knowledge base, a guardrail)."""
    if attribute == "Version":
        return "1"
    # Ten upper-case letters and digits: the shape of a Bedrock knowledge base or guardrail id.
    return "L" + hashlib.sha1(logical_id.encode()).hexdigest()[:9].upper()  # noqa: S324 - not security


def parameter_values(template: dict[str, Any], parameters: Mapping[str, str] | None = None) -> dict[str, str]:
    """Every parameter's value: the one given (the twin's, ``LOCAL_PARAMETERS``, by default), else its
    default ("" when it has none)."""
    given = LOCAL_PARAMETERS if parameters is None else parameters
    values = {
        name: "" if spec.get("Default") is None else str(spec["Default"])
        for name, spec in (template.get("Parameters") or {}).items()
    }
    return values | {name: str(value) for name, value in given.items() if name in values}


def condition_holds(template: dict[str, Any], name: str, parameters: Mapping[str, str] | None = None) -> bool:
    """Whether one of the template's conditions holds for these parameter values (the twin's by default)."""
    return bool(resolver(template, {}, {}, parameters)({"Condition": name}))


def filter_policy(
    template: dict[str, Any], refs: dict[str, str], arns: dict[str, str], policy: Any
) -> dict[str, Any]:
    """A subscription's filter policy as the twin applies it: the template's, resolved with each of the
    local account's numbers as ``PhoneNumberArn`` in turn, and merged (each key admits what either did)."""
    merged: dict[str, Any] = {}
    for arn in LOCAL_PHONE_NUMBER_ARNS:
        merged = _merge(
            merged, resolver(template, refs, arns, {**LOCAL_PARAMETERS, "PhoneNumberArn": arn})(policy)
        )
    return merged


def _merge(left: Any, right: Any) -> Any:
    if isinstance(left, dict) and isinstance(right, dict):
        return {
            key: _merge(left[key], right[key])
            if key in left and key in right
            else left.get(key, right.get(key))
            for key in left | right
        }
    if isinstance(left, list) and isinstance(right, list):
        return left + [item for item in right if item not in left]
    return right


def resolver(
    template: dict[str, Any],
    refs: dict[str, str],
    arns: dict[str, str],
    parameters: Mapping[str, str] | None = None,
) -> Callable[[Any], Any]:
    """Resolve the intrinsic functions the template uses against local resources, parameters (the twin's,
    else their defaults), mappings, conditions and AWS pseudo parameters; resources without a local twin
    resolve to ``local_id``. Lists and mappings are resolved item by item; ``AWS::NoValue`` leaves them."""
    values = parameter_values(template, parameters)
    mappings = template.get("Mappings") or {}
    conditions = template.get("Conditions") or {}
    resources = template["Resources"]
    decided: dict[str, bool] = {}

    def ref(name: str) -> Any:
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in refs:
            return refs[name]
        if name in values:
            return values[name]
        if name in PSEUDO_PARAMETERS:
            return PSEUDO_PARAMETERS[name]
        if name in resources:
            return local_id(name)
        raise KeyError(f"cannot resolve Ref {name} locally")

    def attribute(name: str, attr: str) -> str:
        if attr == "Arn" and name in arns:
            return arns[name]
        if name in resources:
            return local_id(name, attr)
        raise KeyError(f"cannot resolve GetAtt {name}.{attr} locally")

    def condition(name: str) -> bool:
        if name not in decided:
            if name not in conditions:
                raise KeyError(f"no condition {name}")
            decided[name] = bool(resolve(conditions[name]))
        return decided[name]

    def text(value: Any) -> str:
        resolved = resolve(value)
        return str(resolved)

    def substitute(arg: Any) -> str:
        template_text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])

        def one(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in variables:
                return text(variables[name])
            if "." in name and not name.startswith("AWS::"):
                return attribute(*name.split(".", 1))
            return str(ref(name))

        return _SUB.sub(one, template_text)

    def function(key: str, arg: Any) -> Any:
        if key == "Ref":
            return ref(arg)
        if key == "Condition":
            return condition(arg)
        if key == "Fn::GetAtt":
            return attribute(arg[0], arg[1])
        if key == "Fn::Sub":
            return substitute(arg)
        if key == "Fn::If":
            name, when_true, when_false = arg
            return resolve(when_true if condition(name) else when_false)
        if key == "Fn::Equals":
            return text(arg[0]) == text(arg[1])
        if key == "Fn::Not":
            return not resolve(arg[0])
        if key == "Fn::And":
            return all(resolve(item) for item in arg)
        if key == "Fn::Or":
            return any(resolve(item) for item in arg)
        if key == "Fn::FindInMap":
            name, top, second = (text(item) for item in arg)
            return mappings[name][top][second]
        if key == "Fn::Select":
            return resolve(arg[1])[int(text(arg[0]))]
        if key == "Fn::Split":
            return text(arg[1]).split(arg[0])
        if key == "Fn::Join":
            return str(arg[0]).join(str(item) for item in resolve(arg[1]))
        raise KeyError(f"cannot resolve {key} locally")

    def resolve(value: Any) -> Any:
        if isinstance(value, dict):
            if len(value) == 1:
                ((key, arg),) = value.items()
                if key in _INTRINSICS and not (key == "Condition" and not isinstance(arg, str)):
                    return function(key, arg)
                if key.startswith("Fn::"):
                    raise KeyError(f"cannot resolve {key} locally")
            resolved = {key: resolve(item) for key, item in value.items()}
            return {key: item for key, item in resolved.items() if item is not NO_VALUE}
        if isinstance(value, list):
            return [item for item in (resolve(item) for item in value) if item is not NO_VALUE]
        return value

    return resolve
