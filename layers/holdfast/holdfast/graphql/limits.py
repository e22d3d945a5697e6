"""What one GraphQL request may ask, checked on the parsed document before validation and
execution, so a hostile document costs little and writes nothing: its size in tokens, fields,
aliases, depth and (for a mutation) top-level mutations. Each refusal names the limit."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
)

MAX_DOCUMENT_CHARS = 20_000
MAX_TOKENS = 5_000
MAX_FIELDS = 500
MAX_ALIASES = 30
MAX_DEPTH = 15
MAX_MUTATIONS = 10


@dataclass(frozen=True)
class LimitExceeded(Exception):
    limit: str
    message: str


def check_document(document: DocumentNode, operation: OperationDefinitionNode | None) -> None:
    """Raise :class:`LimitExceeded` for the first limit the document passes."""
    fields = aliases = 0
    fragments: dict[str, FragmentDefinitionNode] = {}
    for definition in document.definitions:
        if isinstance(definition, FragmentDefinitionNode):
            fragments[definition.name.value] = definition
        for field in _fields(getattr(definition, "selection_set", None)):
            fields += 1
            aliases += field.alias is not None
    if fields > MAX_FIELDS:
        raise LimitExceeded(
            "fields", f"the document selects {fields} fields; the limit is {MAX_FIELDS}"
        )
    if aliases > MAX_ALIASES:
        raise LimitExceeded(
            "aliases", f"the document has {aliases} aliases; the limit is {MAX_ALIASES}"
        )
    if operation is None:
        return
    depth = _depth(operation.selection_set, fragments, {})
    if depth > MAX_DEPTH:
        raise LimitExceeded(
            "depth", f"the operation nests {depth} fields deep; the limit is {MAX_DEPTH}"
        )
    if operation.operation is OperationType.MUTATION:
        mutations = len(_response_keys(operation.selection_set, fragments, set()))
        if mutations > MAX_MUTATIONS:
            raise LimitExceeded(
                "mutations",
                f"the document asks for {mutations} mutations; the limit is {MAX_MUTATIONS} per request",
            )


def _fields(selection_set: SelectionSetNode | None) -> Iterator[FieldNode]:
    """Every field node under a selection set, fragments' bodies excluded (counted once each
    where they are defined)."""
    stack = [selection_set] if selection_set else []
    while stack:
        for selection in stack.pop().selections:
            if isinstance(selection, FieldNode):
                yield selection
            inner = getattr(selection, "selection_set", None)
            if inner:
                stack.append(inner)


def _depth(
    selection_set: SelectionSetNode | None,
    fragments: dict[str, FragmentDefinitionNode],
    memo: dict[str, int],
) -> int:
    """The deepest field path; each fragment's depth is worked out once (a document that
    spreads fragments into fragments costs no more than its size)."""
    if selection_set is None:
        return 0
    deepest = 0
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            deepest = max(deepest, 1 + _depth(selection.selection_set, fragments, memo))
        elif isinstance(selection, InlineFragmentNode):
            deepest = max(deepest, _depth(selection.selection_set, fragments, memo))
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            if name in fragments and name not in memo:
                memo[name] = 0  # a cycle (refused by validation) counts as nothing
                memo[name] = _depth(fragments[name].selection_set, fragments, memo)
            deepest = max(deepest, memo.get(name, 0))
    return deepest


def _response_keys(
    selection_set: SelectionSetNode, fragments: dict[str, FragmentDefinitionNode], seen: set[str]
) -> set[str]:
    """The top-level response keys (alias or name): fields with one key execute once."""
    keys: set[str] = set()
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            keys.add((selection.alias or selection.name).value)
        elif isinstance(selection, InlineFragmentNode):
            keys |= _response_keys(selection.selection_set, fragments, seen)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            if name in fragments and name not in seen:
                seen.add(name)
                keys |= _response_keys(fragments[name].selection_set, fragments, seen)
    return keys
