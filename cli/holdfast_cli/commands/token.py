"""``holdfast token``: an OAuth client-credentials access token for a deployed Holdfast API.

By default it reads the stack's outputs (``TokenUrl`` and an app client id), looks the
client's secret up in Cognito, and trades both at the token endpoint; ``--token-url`` and
``--client-id`` (with ``--client-secret`` or ``$HOLDFAST_CLIENT_SECRET``) name any OAuth
server instead. Only the token is printed, so ``export HOLDFAST_TOKEN=$(holdfast token)``
is all the other commands need (their ``--token`` defaults to ``$HOLDFAST_TOKEN``).
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import sys
import urllib.parse
from dataclasses import dataclass
from typing import Any

from holdfast_cli.api_client import ApiClient

DESCRIPTION = (
    "Print an access token for a deployed Holdfast API (OAuth client credentials), from the "
    "stack's outputs or an explicit token endpoint and client: "
    "export HOLDFAST_TOKEN=$(holdfast token)"
)
EXIT_OK, EXIT_ERROR = 0, 2
DEFAULT_STACK = "holdfast-dev"
CLIENT_OUTPUTS = {"backoffice": "BackOfficeClientId", "storefront": "StorefrontClientId"}
"""The stack's app clients: the stock feed and back office (every scope), the storefront."""
TIMEOUT_SECONDS = 15.0
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


class TokenError(RuntimeError):
    """No token: the message says why (no stack, no such client, refused by the endpoint)."""


@dataclass(frozen=True)
class ClientCredentials:
    token_url: str
    client_id: str
    client_secret: str


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--stack",
        default=os.environ.get("HOLDFAST_STACK") or DEFAULT_STACK,
        help=f"the deployed stack whose outputs name the endpoint and clients "
        f"(default $HOLDFAST_STACK or {DEFAULT_STACK})",
    )
    parser.add_argument(
        "--client",
        choices=sorted(CLIENT_OUTPUTS),
        default="backoffice",
        help="which of the stack's app clients (default backoffice: every scope)",
    )
    parser.add_argument(
        "--region",
        help="the stack's region (default: $AWS_REGION, $AWS_DEFAULT_REGION, the profile's)",
    )
    parser.add_argument("--token-url", help="an OAuth token endpoint instead of the stack's")
    parser.add_argument("--client-id", help="with --token-url: the app client id")
    parser.add_argument(
        "--client-secret",
        default=None,
        help="the client's secret (default $HOLDFAST_CLIENT_SECRET; from the stack: Cognito's)",
    )
    parser.add_argument(
        "--scope", help="space-separated scopes to ask for (default: all the client's)"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    try:
        credentials = resolve_credentials(args)
        token = fetch_token(credentials, scope=args.scope)
    except TokenError as error:
        print(f"holdfast token: {error}", file=sys.stderr)
        return EXIT_ERROR
    print(token)
    return EXIT_OK


def resolve_credentials(args: argparse.Namespace) -> ClientCredentials:
    """Explicit ``--token-url``/``--client-id`` first; otherwise the stack's outputs. A
    secret given (``--client-secret``, ``$HOLDFAST_CLIENT_SECRET``) is used as it is: after a
    rotation the client may have two."""
    secret = args.client_secret or os.environ.get("HOLDFAST_CLIENT_SECRET")
    if args.token_url or args.client_id:
        if not (args.token_url and args.client_id):
            raise TokenError("--token-url and --client-id go together")
        if not secret:
            raise TokenError("give the client's secret: --client-secret or $HOLDFAST_CLIENT_SECRET")
        return ClientCredentials(checked_token_url(args.token_url), args.client_id, secret)
    return credentials_from_stack(args.stack, args.client, region=args.region, secret=secret)


def checked_token_url(url: str) -> str:
    """An https URL, or http on this machine (a test or local server): the secret is sent
    in the request's headers."""
    parts = urllib.parse.urlsplit(url)
    local = parts.scheme == "http" and parts.hostname in LOOPBACK
    if not (parts.scheme == "https" or local) or not parts.hostname:
        raise TokenError(f"--token-url must be an https URL (http only on this machine): {url!r}")
    return url


def credentials_from_stack(
    stack: str,
    client: str,
    *,
    region: str | None = None,
    secret: str | None = None,
    session: Any = None,
) -> ClientCredentials:
    """The token endpoint and client id from the stack's outputs; the secret, unless given,
    from Cognito (``session``: a boto3 session, or a stand-in in tests)."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    from holdfast_cli.local.aws_credentials import configured_region

    try:
        session = session or boto3.session.Session(region_name=region or configured_region())
        described = session.client("cloudformation").describe_stacks(StackName=stack)
        outputs = {
            o["OutputKey"]: o["OutputValue"] for o in described["Stacks"][0].get("Outputs", [])
        }
        if "TokenUrl" not in outputs:
            raise TokenError(
                f"stack {stack} trusts another issuer (JwtIssuer): get a token from it, "
                "or pass --token-url and --client-id"
            )
        client_id, pool = outputs[CLIENT_OUTPUTS[client]], outputs["UserPoolId"]
        if secret is None:
            described = session.client("cognito-idp").describe_user_pool_client(
                UserPoolId=pool, ClientId=client_id
            )
            secret = described["UserPoolClient"]["ClientSecret"]
    except (BotoCoreError, ClientError) as error:
        raise TokenError(f"cannot read stack {stack}: {error}") from None
    return ClientCredentials(outputs["TokenUrl"], client_id, secret)


def fetch_token(credentials: ClientCredentials, scope: str | None = None) -> str:
    """POST the client-credentials grant (client authenticated with HTTP Basic, as Cognito
    and most OAuth servers accept); the ``access_token`` of the answer."""
    form: dict[str, str] = {"grant_type": "client_credentials"}
    if scope:
        form["scope"] = scope
    basic = base64.b64encode(
        f"{credentials.client_id}:{credentials.client_secret}".encode()
    ).decode()
    headers = {
        "Authorization": f"Basic {basic}",
        "Content-Type": "application/x-www-form-urlencoded",
        "Accept": "application/json",
    }
    try:
        with ApiClient(credentials.token_url, timeout=TIMEOUT_SECONDS) as client:
            response = client.request(
                "POST", "", body=urllib.parse.urlencode(form).encode(), headers=headers
            )
    except (OSError, http.client.HTTPException) as error:
        raise TokenError(f"cannot reach {credentials.token_url}: {error}") from None
    answer = _json(response.body)
    if not 200 <= response.status < 300:
        reason = (
            answer.get("error_description")
            or answer.get("error")
            or http.client.responses.get(response.status, "")
        )
        raise TokenError(
            f"{credentials.token_url} refused the client ({response.status}): {reason}"
        )
    token = answer.get("access_token")
    if not isinstance(token, str) or not token:
        raise TokenError(f"{credentials.token_url} answered without an access_token")
    return token


def _json(raw: str) -> dict[str, Any]:
    try:
        parsed = json.loads(raw)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}
