"""``holdfast token`` against a fake OAuth token endpoint on 127.0.0.1: the client-credentials
grant goes out as Cognito expects it, only the token comes out on stdout, and every refusal is
a clear error with nothing on stdout."""

from __future__ import annotations

import base64
import json
import threading
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from holdfast_cli.commands import token as access_token
from holdfast_cli.main import main

CLIENT_ID, CLIENT_SECRET = "backoffice-client", "fake-backoffice-secret"
ISSUED = "fake-access-token-for-the-test"


@dataclass
class FakeTokenEndpoint:
    """Grants client credentials to one client; remembers each request it saw."""

    url: str = ""
    requests: list[dict[str, Any]] = field(default_factory=list)


@pytest.fixture
def endpoint() -> Iterator[FakeTokenEndpoint]:
    fake = FakeTokenEndpoint()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"])).decode()
            form = dict(urllib.parse.parse_qsl(body))
            fake.requests.append({"path": self.path, "headers": dict(self.headers), "form": form})
            expected = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
            if self.headers.get("Authorization") != expected:
                self._answer(400, {"error": "invalid_client"})
            elif form.get("grant_type") != "client_credentials":
                self._answer(400, {"error": "unsupported_grant_type"})
            else:
                self._answer(
                    200, {"access_token": ISSUED, "expires_in": 3600, "token_type": "Bearer"}
                )

        def _answer(self, status: int, body: dict[str, Any]) -> None:
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_address[1]}/oauth2/token"
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(autouse=True)
def no_ambient_secret(monkeypatch) -> None:
    monkeypatch.delenv("HOLDFAST_CLIENT_SECRET", raising=False)
    monkeypatch.delenv("HOLDFAST_STACK", raising=False)


def test_token_trades_the_client_credentials_and_prints_only_the_token(endpoint, capsys) -> None:
    code = main(
        [
            "token",
            "--token-url",
            endpoint.url,
            "--client-id",
            CLIENT_ID,
            "--client-secret",
            CLIENT_SECRET,
            "--scope",
            "holdfast/read holdfast/holds",
        ]
    )

    assert code == 0
    assert capsys.readouterr().out == f"{ISSUED}\n"
    (request,) = endpoint.requests
    assert request["path"] == "/oauth2/token"
    assert request["headers"]["Content-Type"] == "application/x-www-form-urlencoded"
    assert request["form"] == {
        "grant_type": "client_credentials",
        "scope": "holdfast/read holdfast/holds",
    }


def test_the_secret_may_come_from_the_environment_and_the_scope_defaults_to_the_clients(
    endpoint, capsys, monkeypatch
) -> None:
    monkeypatch.setenv("HOLDFAST_CLIENT_SECRET", CLIENT_SECRET)

    assert main(["token", "--token-url", endpoint.url, "--client-id", CLIENT_ID]) == 0
    assert capsys.readouterr().out == f"{ISSUED}\n"
    assert endpoint.requests[0]["form"] == {"grant_type": "client_credentials"}


def test_a_refused_client_is_a_clear_error_and_prints_no_token(endpoint, capsys) -> None:
    code = main(
        [
            "token",
            "--token-url",
            endpoint.url,
            "--client-id",
            CLIENT_ID,
            "--client-secret",
            "wrong-one",
        ]
    )

    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert "refused the client (400): invalid_client" in err
    assert "wrong-one" not in err  # the secret is never echoed


def test_an_unreachable_endpoint_is_a_clear_error(capsys) -> None:
    code = main(
        [
            "token",
            "--token-url",
            "http://127.0.0.1:9/oauth2/token",
            "--client-id",
            CLIENT_ID,
            "--client-secret",
            CLIENT_SECRET,
        ]
    )

    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert "cannot reach http://127.0.0.1:9/oauth2/token" in err


@pytest.mark.parametrize(
    ("argv", "reason"),
    [
        (["--token-url", "http://127.0.0.1:9/t"], "go together"),  # no client id
        (["--client-id", CLIENT_ID], "go together"),  # no endpoint
        (
            ["--token-url", "http://127.0.0.1:9/t", "--client-id", CLIENT_ID],
            "give the client's secret",
        ),
        (
            [
                "--token-url",
                "http://idp.example.com/t",
                "--client-id",
                CLIENT_ID,
                "--client-secret",
                "s",
            ],
            "https",
        ),
        (
            ["--token-url", "file:///etc/hosts", "--client-id", CLIENT_ID, "--client-secret", "s"],
            "https",
        ),
    ],
)
def test_an_incomplete_or_unsafe_explicit_client_is_refused_before_any_request(
    argv, reason, capsys
) -> None:
    assert main(["token", *argv]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("holdfast token: ") and reason in err


class FakeSession:
    """A boto3 session whose CloudFormation and Cognito answer as a deployed stack would."""

    def __init__(self, outputs: dict[str, str]) -> None:
        self.outputs = outputs
        self.asked: list[tuple[str, dict[str, Any]]] = []

    def client(self, service: str) -> Any:
        session = self

        class Client:
            def describe_stacks(self, **kwargs: Any) -> dict[str, Any]:
                session.asked.append((service, kwargs))
                outputs = [{"OutputKey": k, "OutputValue": v} for k, v in session.outputs.items()]
                return {"Stacks": [{"Outputs": outputs}]}

            def describe_user_pool_client(self, **kwargs: Any) -> dict[str, Any]:
                session.asked.append((service, kwargs))
                return {
                    "UserPoolClient": {
                        "ClientId": kwargs["ClientId"],
                        "ClientSecret": CLIENT_SECRET,
                    }
                }

        return Client()


def test_the_stacks_outputs_name_the_endpoint_and_client_and_cognito_gives_the_secret(
    endpoint,
) -> None:
    session = FakeSession(
        {
            "ApiUrl": "https://api.example.com/dev",
            "TokenUrl": endpoint.url,
            "UserPoolId": "eu-west-1_Pool",
            "BackOfficeClientId": CLIENT_ID,
            "StorefrontClientId": "storefront-client",
        }
    )

    credentials = access_token.credentials_from_stack("holdfast-dev", "backoffice", session=session)

    assert credentials == access_token.ClientCredentials(endpoint.url, CLIENT_ID, CLIENT_SECRET)
    assert session.asked == [
        ("cloudformation", {"StackName": "holdfast-dev"}),
        ("cognito-idp", {"UserPoolId": "eu-west-1_Pool", "ClientId": CLIENT_ID}),
    ]
    assert access_token.fetch_token(credentials) == ISSUED


def test_a_secret_given_is_used_as_it_is_without_asking_cognito(endpoint) -> None:
    session = FakeSession(
        {
            "TokenUrl": endpoint.url,
            "UserPoolId": "eu-west-1_Pool",
            "BackOfficeClientId": CLIENT_ID,
            "StorefrontClientId": "storefront-client",
        }
    )

    credentials = access_token.credentials_from_stack(
        "holdfast-dev", "storefront", secret="fake-rotated-secret", session=session
    )

    assert credentials == access_token.ClientCredentials(
        endpoint.url, "storefront-client", "fake-rotated-secret"
    )
    assert [service for service, _ in session.asked] == ["cloudformation"]


def test_a_stack_that_trusts_another_issuer_has_no_token_for_us() -> None:
    session = FakeSession({"ApiUrl": "https://api.example.com/dev"})  # deployed with JwtIssuer

    with pytest.raises(access_token.TokenError, match="trusts another issuer"):
        access_token.credentials_from_stack("holdfast-prod", "storefront", session=session)


# -- every command that talks to an API sends the token -------------------------------------------


@pytest.fixture
def api_recording_headers() -> Iterator[tuple[str, list[dict[str, str]]]]:
    seen: list[dict[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            seen.append(dict(self.headers))
            payload = b'{"items": []}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/dev", seen
    finally:
        server.shutdown()
        server.server_close()


def test_the_flash_sale_and_the_load_run_send_the_token_as_a_bearer(api_recording_headers) -> None:
    from bench.load_run import call
    from holdfast_cli.api_client import ApiClient

    url, seen = api_recording_headers
    assert ApiClient(url, token=ISSUED).request("GET", "/timers").status == 200
    with ApiClient(url, timeout=5.0, token=ISSUED) as connection:
        assert call(connection, "GET", "/timers")[0] == 200
    assert [headers["Authorization"] for headers in seen] == [f"Bearer {ISSUED}"] * 2


@pytest.mark.parametrize(
    "argv",
    [
        ["flash-sale", "--api-url", "https://api.example.com/dev"],
        ["signals", "export", "--api-url", "https://api.example.com/dev"],
        ["report", "funnel", "--api-url", "https://api.example.com/dev"],
    ],
)
def test_every_command_that_calls_an_api_takes_the_token_from_the_flag_or_the_environment(
    argv, monkeypatch
) -> None:
    from holdfast_cli.main import build_parser

    monkeypatch.setenv("HOLDFAST_TOKEN", "from-the-environment")
    assert build_parser().parse_args(argv).token == "from-the-environment"
    assert build_parser().parse_args([*argv, "--token", "from-the-flag"]).token == "from-the-flag"


def test_the_load_run_takes_the_token_from_the_flag_or_the_environment(monkeypatch) -> None:
    from bench.load import build_parser

    monkeypatch.setenv("HOLDFAST_TOKEN", "from-the-environment")
    assert (
        build_parser().parse_args(["--api-url", "https://api.example.com/dev"]).token
        == "from-the-environment"
    )
    assert build_parser().parse_args(["--token", "from-the-flag"]).token == "from-the-flag"
