"""``POST /graphql``: from an API Gateway HTTP API event to a GraphQL response.

Order of work, cheapest refusal first: the body (size, JSON), the document (size, tokens,
then fields, aliases, depth, mutations), validation against the schema, the caller's scope
for the operation, then — for a mutation — a pass that checks every mutation's input
without writing, and only then execution. So refused input writes nothing, even when it is
the third mutation of a document. Errors follow the GraphQL spec (``message``, ``locations``,
``path``) with Holdfast's error code in ``extensions.code`` (docs/graphql.md)."""

from __future__ import annotations

import base64
import functools
import json
from typing import Any

from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError, ConnectionError, HTTPClientError
from graphql import (
    DocumentNode,
    ExecutionResult,
    FieldNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    execute,
    get_operation_ast,
    parse,
    validate,
)

from holdfast.errors import HoldfastError
from holdfast.graphql.context import GraphqlContext
from holdfast.graphql.limits import MAX_DOCUMENT_CHARS, MAX_TOKENS, LimitExceeded, check_document
from holdfast.graphql.schema import executable_schema

logger = Logger()

MAX_BODY_BYTES = 100_000
READ_SCOPE, HOLDS_SCOPE = "holdfast/read", "holdfast/holds"
THROTTLING_CODES = frozenset(
    {
        "ThrottlingException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "TransactionConflictException",
        "TransactionInProgressException",
    }
)


def handle_event(
    event: dict[str, Any], context: GraphqlContext, correlation_id: str | None = None
) -> dict[str, Any]:
    """The HTTP answer to one API Gateway event; every error carries ``correlation_id`` in
    ``extensions.correlationId``, as REST error bodies do."""
    try:
        request = request_body(event)
    except RequestRefused as refused:
        payload = {"errors": [error_entry(refused.message, refused.code)]}
        return http_response(refused.status, correlated(payload, correlation_id))
    return http_response(200, correlated(run(request, scopes_of(event), context), correlation_id))


def correlated(payload: dict[str, Any], correlation_id: str | None) -> dict[str, Any]:
    if correlation_id:
        for error in payload.get("errors") or []:
            error.setdefault("extensions", {})["correlationId"] = correlation_id
    return payload


def run(
    request: dict[str, Any], scopes: set[str] | None, context: GraphqlContext
) -> dict[str, Any]:
    """Execute one GraphQL request (see :func:`request_body`); ``scopes`` None means no
    authorizer (local runs)."""
    query, variables, operation_name = (
        request["query"],
        request.get("variables"),
        request.get("operationName"),
    )
    if len(query) > MAX_DOCUMENT_CHARS:
        return refusal(
            f"the document is {len(query)} characters; the limit is {MAX_DOCUMENT_CHARS}",
            "PAYLOAD_TOO_LARGE",
        )
    document, operation, problems = checked_document(query, operation_name)
    if problems:
        return {"errors": [dict(problem) for problem in problems]}
    assert document is not None and operation is not None
    schema = executable_schema()
    mutation = operation.operation is OperationType.MUTATION
    needed = HOLDS_SCOPE if mutation else READ_SCOPE
    if scopes is not None and needed not in scopes:
        return refusal(f"this {operation.operation.value} needs the {needed} scope", "FORBIDDEN")
    if mutation and not single_field(
        operation
    ):  # one mutation checks its own input before it writes
        dry_run = GraphqlContext(context.runtime, context.mapping, dry_run=True)
        checked = execute_document(schema, document, dry_run, variables, operation_name)
        if checked.errors:
            return {"errors": [graphql_error(error) for error in checked.errors], "data": None}
    result = execute_document(schema, document, context, variables, operation_name)
    answer: dict[str, Any] = {}
    if result.errors:
        answer["errors"] = [graphql_error(error) for error in result.errors]
    answer["data"] = result.data
    return answer


def execute_document(
    schema: GraphQLSchema,
    document: DocumentNode,
    context: GraphqlContext,
    variables: dict[str, Any] | None,
    operation_name: str | None,
) -> ExecutionResult:
    """Execute the operation; every resolver is synchronous, so the result is too."""
    result = execute(
        schema,
        document,
        context_value=context,
        variable_values=variables,
        operation_name=operation_name,
    )
    assert isinstance(result, ExecutionResult)  # every resolver is synchronous
    return result


def single_field(operation: OperationDefinitionNode) -> bool:
    selections = operation.selection_set.selections
    return len(selections) == 1 and isinstance(selections[0], FieldNode)


@functools.lru_cache(maxsize=256)
def checked_document(
    query: str, operation_name: str | None
) -> tuple[DocumentNode | None, OperationDefinitionNode | None, tuple[dict[str, Any], ...]]:
    """Parse, check the limits, validate: (document, operation, errors), the errors ready to
    answer. Remembered per document, as storefronts send the same few documents again and
    again (validation is most of GraphQL's own cost); at most 256 × 20,000 characters."""
    try:
        document = parse(query, max_tokens=MAX_TOKENS)
    except GraphQLError as error:
        return None, None, (graphql_error(error),)
    operation = get_operation_ast(document, operation_name)
    try:
        check_document(document, operation)
    except LimitExceeded as exceeded:
        return None, None, (error_entry(exceeded.message, "LIMIT_EXCEEDED", limit=exceeded.limit),)
    problems = validate(executable_schema(), document, max_errors=20)
    if problems:
        return None, None, tuple(graphql_error(error) for error in problems)
    if operation is None:
        return (
            None,
            None,
            (
                error_entry(
                    "name the operation to run: the document has several (operationName)",
                    "INVALID_INPUT",
                ),
            ),
        )
    return document, operation, ()


def graphql_error(error: GraphQLError) -> dict[str, Any]:
    """A GraphQL error in the spec's shape, with Holdfast's ``code`` (and ``details``)."""
    entry: dict[str, Any] = dict(error.formatted)
    original = error.original_error
    extensions: dict[str, Any] = {"code": "INVALID_INPUT"}
    if isinstance(original, HoldfastError):
        entry["message"] = original.message
        extensions = {"code": original.code, "details": original.details}
    elif (
        isinstance(original, ClientError)
        and original.response.get("Error", {}).get("Code") in THROTTLING_CODES
    ):
        logger.warning("DynamoDB throttled", code=original.response["Error"]["Code"])
        entry["message"] = "the database is busy; retry the same request"
        extensions = {"code": "UNAVAILABLE"}
    elif isinstance(original, (ConnectionError, HTTPClientError)):
        logger.warning("DynamoDB unreachable", error=str(original))
        entry["message"] = "the database did not answer in time; retry the same request"
        extensions = {"code": "UNAVAILABLE"}
    elif original is not None and not isinstance(
        original, GraphQLError
    ):  # GraphQLError: input coercion
        logger.exception("unhandled error", exc_info=original)
        entry["message"] = "an unexpected error occurred; it has been logged"
        extensions = {"code": "INTERNAL_ERROR"}
    entry["extensions"] = {**(entry.get("extensions") or {}), **extensions}
    return entry


def refusal(message: str, code: str, **extensions: Any) -> dict[str, Any]:
    return {"errors": [error_entry(message, code, **extensions)]}


def error_entry(message: str, code: str, **extensions: Any) -> dict[str, Any]:
    return {"message": message, "extensions": {"code": code, **extensions}}


class RequestRefused(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def request_body(event: dict[str, Any]) -> dict[str, Any]:
    """The body as a GraphQL-over-HTTP request (a JSON object with a ``query`` string, and
    optional ``variables`` object and ``operationName`` string), or :class:`RequestRefused`
    saying why not: a 400, as the GraphQL-over-HTTP spec asks for a malformed request."""
    body = event.get("body") or ""
    raw = base64.b64decode(body) if event.get("isBase64Encoded") else body.encode()
    if len(raw) > MAX_BODY_BYTES:
        raise RequestRefused(
            413, "PAYLOAD_TOO_LARGE", f"the body is {len(raw)} bytes; the limit is {MAX_BODY_BYTES}"
        )
    headers = {key.lower(): value for key, value in (event.get("headers") or {}).items()}
    content_type = headers.get("content-type", "application/json").strip().lower()
    if not content_type.startswith(("application/json", "application/graphql-response+json")):
        raise RequestRefused(
            415,
            "UNSUPPORTED_MEDIA_TYPE",
            f"send Content-Type: application/json, not {content_type}",
        )
    try:
        parsed = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise RequestRefused(
            400, "INVALID_INPUT", f"the body is not JSON: {str(error)[:200]}"
        ) from None
    except RecursionError:  # thousands of nested brackets: Python's parser gives up
        raise RequestRefused(400, "INVALID_INPUT", "the body nests JSON too deeply") from None
    if not isinstance(parsed, dict):
        raise RequestRefused(400, "INVALID_INPUT", "the body must be a JSON object with a 'query'")
    if not isinstance(parsed.get("query"), str) or not parsed["query"].strip():
        raise RequestRefused(
            400, "INVALID_INPUT", "the body must have a 'query' string holding the GraphQL document"
        )
    if parsed.get("variables") is not None and not isinstance(parsed["variables"], dict):
        raise RequestRefused(400, "INVALID_INPUT", "'variables' must be a JSON object")
    if parsed.get("operationName") is not None and not isinstance(parsed["operationName"], str):
        raise RequestRefused(400, "INVALID_INPUT", "'operationName' must be a string")
    return parsed


def scopes_of(event: dict[str, Any]) -> set[str] | None:
    """The JWT's scopes as API Gateway's authorizer passed them; None without an authorizer
    (only local runs: every deployed /graphql request passes the JWT authorizer)."""
    jwt = ((event.get("requestContext") or {}).get("authorizer") or {}).get("jwt")
    if jwt is None:
        return None
    scopes = set(jwt.get("scopes") or [])
    claim = (jwt.get("claims") or {}).get("scope")
    if isinstance(claim, str):
        scopes |= set(claim.split())
    return scopes


def http_response(status: int, payload: dict[str, Any]) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(payload, separators=(",", ":"), default=str),
        "isBase64Encoded": False,
    }
