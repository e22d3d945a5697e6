"""Render ``template.yaml`` for given parameter values, as CloudFormation would before it
creates anything: conditions evaluated, ``Fn::If`` branches chosen, ``AWS::NoValue`` dropped,
and resources and outputs whose condition is false removed. Other intrinsics stay as written.

Enough for the template's own conditions (``Fn::Equals``, ``Fn::Not``, ``Fn::And``, ``Fn::Or``
over parameters), so a test can check each branch of a condition, not just the text."""

from __future__ import annotations

import copy
from typing import Any

from holdfast_cli.local.template import load_template

_DROP = object()


def parameter_values(template: dict[str, Any], given: dict[str, Any]) -> dict[str, str]:
    """Defaults overridden by ``given``; every value a string, as CloudFormation passes them."""
    values = {
        name: str(spec["Default"])
        for name, spec in template["Parameters"].items()
        if "Default" in spec
    }
    values.update({name: str(value) for name, value in given.items()})
    unknown = set(given) - set(template["Parameters"])
    assert not unknown, f"not template parameters: {sorted(unknown)}"
    return values


def evaluate(expression: Any, values: dict[str, str], conditions: dict[str, Any]) -> Any:
    """A condition or rule expression's value (``Ref`` to a parameter gives its string)."""
    if not isinstance(expression, dict):
        return (
            str(expression)
            if isinstance(expression, (int, float)) and not isinstance(expression, bool)
            else expression
        )
    ((function, argument),) = expression.items()
    if function == "Ref":
        return values[argument]
    if function == "Condition":
        return evaluate(conditions[argument], values, conditions)
    arguments = [evaluate(item, values, conditions) for item in argument]
    if function == "Fn::Equals":
        return arguments[0] == arguments[1]
    if function == "Fn::Not":
        return not arguments[0]
    if function == "Fn::And":
        return all(arguments)
    if function == "Fn::Or":
        return any(arguments)
    raise AssertionError(f"the renderer does not know {function}")


def render(
    parameters: dict[str, Any] | None = None, template: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The template as deployed with ``parameters``, plus ``Conditions`` as booleans."""
    template = copy.deepcopy(template or load_template())
    values = parameter_values(template, parameters or {})
    conditions = template.get("Conditions", {})
    truth = {
        name: bool(evaluate(expression, values, conditions))
        for name, expression in conditions.items()
    }

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            if set(node) == {"Fn::If"}:
                name, when_true, when_false = node["Fn::If"]
                return resolve(when_true if truth[name] else when_false)
            if node == {"Ref": "AWS::NoValue"}:
                return _DROP
            resolved = {key: resolve(value) for key, value in node.items()}
            return {key: value for key, value in resolved.items() if value is not _DROP}
        if isinstance(node, list):
            return [item for item in (resolve(item) for item in node) if item is not _DROP]
        return node

    rendered = resolve(
        {key: value for key, value in template.items() if key not in ("Conditions", "Rules")}
    )
    for section in ("Resources", "Outputs"):
        rendered[section] = {
            name: body
            for name, body in rendered.get(section, {}).items()
            if "Condition" not in body or truth[body["Condition"]]
        }
    rendered["Conditions"] = truth
    return rendered


def rules_hold(
    parameters: dict[str, Any], template: dict[str, Any] | None = None
) -> dict[str, bool]:
    """Each rule's verdict on ``parameters`` (all its assertions true)."""
    template = template or load_template()
    values = parameter_values(template, parameters)
    conditions = template.get("Conditions", {})
    return {
        name: all(
            evaluate(assertion["Assert"], values, conditions) for assertion in rule["Assertions"]
        )
        for name, rule in template.get("Rules", {}).items()
    }
