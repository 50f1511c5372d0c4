"""Read ``template.yaml`` so the local twin is built from the same definitions as the cloud stack."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml


class _CfnLoader(yaml.SafeLoader):
    """A SafeLoader that reads CloudFormation's short tags (``!Ref X`` -> ``{"Ref": "X"}``)."""


def _tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
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
    """``template.yaml`` at the project root (beside the ``assistant`` package)."""
    return Path(__file__).resolve().parents[2] / "template.yaml"


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
    return {
        name: resource.get("Properties") or {}
        for name, resource in template["Resources"].items()
        if resource.get("Type") == type_
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


PSEUDO_PARAMETERS = {"AWS::Region": "us-east-1", "AWS::Partition": "aws", "AWS::AccountId": "123456789012"}
_SUB = re.compile(r"\$\{([^}!][^}]*)\}")


def local_id(logical_id: str, attribute: str | None = None) -> str:
    """The stand-in value of a resource moto does not create (a Bedrock knowledge base, a guardrail)."""
    if attribute == "Version":
        return "1"
    # Ten upper-case letters and digits: the shape of a Bedrock knowledge base or guardrail id.
    return "L" + hashlib.sha1(logical_id.encode()).hexdigest()[:9].upper()  # noqa: S324 - not security


def resolver(template: dict[str, Any], refs: dict[str, str], arns: dict[str, str]) -> Callable[[Any], Any]:
    """Resolve ``Ref``, ``GetAtt`` and ``Sub`` against local resources, parameters (their defaults) and
    AWS pseudo parameters; resources without a local twin resolve to ``local_id``."""
    parameters = {k: v.get("Default") for k, v in (template.get("Parameters") or {}).items()}
    resources = template["Resources"]

    def ref(name: str) -> str:
        if name in refs:
            return refs[name]
        if name in parameters:
            return "" if parameters[name] is None else str(parameters[name])
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

    def resolve(value: Any) -> Any:
        if isinstance(value, dict) and len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                return ref(arg)
            if key == "Fn::GetAtt":
                return attribute(arg[0], arg[1])
            if key == "Fn::Sub":
                text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])

                def substitute(match: re.Match[str]) -> str:
                    name = match.group(1)
                    if name in variables:
                        return str(resolve(variables[name]))
                    if "." in name and not name.startswith("AWS::"):
                        return attribute(*name.split(".", 1))
                    return ref(name)

                return _SUB.sub(substitute, text)
            raise KeyError(f"cannot resolve {key} locally")
        return value

    return resolve
