"""Read ``template.yaml`` so the local twin is built from the same definitions as the cloud stack."""

from __future__ import annotations

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


def resources_of(template: dict[str, Any], type_: str) -> dict[str, dict[str, Any]]:
    return {
        name: resource.get("Properties") or {}
        for name, resource in template["Resources"].items()
        if resource.get("Type") == type_
    }


def functions(template: dict[str, Any]) -> list[FunctionSpec]:
    """Every function with an SQS event source, with its environment (Globals merged with its own)."""
    global_env = template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
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
                    )
                )
    return specs


def resolver(template: dict[str, Any], refs: dict[str, str], arns: dict[str, str]) -> Callable[[Any], Any]:
    """Resolve ``Ref`` and ``GetAtt .Arn`` against local resources, and parameters to their defaults."""
    parameters = {k: v.get("Default") for k, v in (template.get("Parameters") or {}).items()}

    def resolve(value: Any) -> Any:
        if isinstance(value, dict) and len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                if arg in refs:
                    return refs[arg]
                if arg in parameters:
                    return "" if parameters[arg] is None else str(parameters[arg])
                raise KeyError(f"cannot resolve Ref {arg} locally")
            if key == "Fn::GetAtt" and arg[1] == "Arn":
                return arns[arg[0]]
            raise KeyError(f"cannot resolve {key} locally")
        return value

    return resolve
