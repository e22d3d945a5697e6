"""``POST /graphql`` in the OpenAPI document: the one route that has no REST resolver to describe
it, so its request and answer are written out here (docs/graphql.md)."""

from __future__ import annotations

from typing import Any

GRAPHQL_PATH = "/graphql"


def serves_graphql(function: str, routes: dict[str, tuple[str, str | None, list[str]]]) -> bool:
    """The GraphQL function has no REST resolver: its one route is described by hand."""
    return {route for route, (name, *_) in routes.items() if name == function} == {
        f"POST {GRAPHQL_PATH}"
    }


def graphql_part() -> dict[str, Any]:
    """``POST /graphql``: a GraphQL request in, a GraphQL response out (docs/graphql.md).

    Long: the route's OpenAPI fragment written out as data."""
    request = {
        "type": "object",
        "required": ["query"],
        "properties": {
            "query": {
                "type": "string",
                "description": "the GraphQL document (docs/schema.graphql)",
            },
            "variables": {"type": ["object", "null"]},
            "operationName": {"type": ["string", "null"]},
        },
    }
    response = {
        "type": "object",
        "properties": {
            "data": {"type": ["object", "null"]},
            "errors": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "message": {"type": "string"},
                        "locations": {"type": "array"},
                        "path": {"type": "array"},
                        "extensions": {
                            "type": "object",
                            "properties": {"code": {"type": "string"}},
                        },
                    },
                },
            },
        },
    }
    operation = {
        "operationId": "postGraphql",
        "tags": ["graphql"],
        "summary": "Fluent-compatible GraphQL: virtual positions, fulfilment options, inventory reads",
        "description": "Queries need holdfast/read, mutations holdfast/holds. A well-formed request answers "
        "200, its errors (refused input, limits, scopes) in an errors array whose extensions.code is "
        "Holdfast's code; a body that is no GraphQL request is a 400, 413 or 415 in the same shape.",
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {"$ref": "#/components/schemas/GraphqlRequest"},
                    "examples": {
                        "readme": {
                            "summary": "from the README",
                            "value": {
                                "query": '{ virtualPositions(catalogue: {ref: "ECOMMERCE"}, productRef: "ACME_SNEAKER_BLK_US9", '
                                'type: "AGGREGATE") { edges { node { ref quantity } } } }'
                            },
                        }
                    },
                }
            },
        },
        "responses": {
            "200": {
                "description": "a GraphQL response",
                "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/GraphqlResponse"}}
                },
            },
            "400": {
                "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/GraphqlResponse"}}
                },
                "description": "INVALID_INPUT: the body is not a GraphQL request (a JSON object with a query string)",
            },
            "413": {
                "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/GraphqlResponse"}}
                },
                "description": "PAYLOAD_TOO_LARGE: the body is over 100,000 bytes",
            },
            "415": {
                "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/GraphqlResponse"}}
                },
                "description": "UNSUPPORTED_MEDIA_TYPE: not application/json",
            },
            "401": {
                "description": "API Gateway: no token, or one that is expired or not from the issuer and audience"
            },
            "403": {
                "description": "API Gateway: the token has neither holdfast/read nor holdfast/holds"
            },
        },
    }
    return {
        "paths": {GRAPHQL_PATH: {"post": operation}},
        "components": {"schemas": {"GraphqlRequest": request, "GraphqlResponse": response}},
    }
