"""AWS credentials, region and boto3 clients for the local tools.

A local engine (DynamoDB Local, moto) accepts any credentials, but boto3 refuses to sign a
request without some and a region. The tools fill in dummy ones only when the developer has
configured none, so a real profile still wins when one is set; :func:`local_client` always
uses dummy ones, for an engine on this machine.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from typing import Any

#: Dummy credentials and region: DynamoDB Local accepts any, but boto3 needs some.
DUMMY_ACCESS_KEY_ID = "fakeMyKeyId"
DUMMY_SECRET_ACCESS_KEY = "fakeSecretAccessKey"
REGION = "us-east-1"


_CREDENTIAL_SOURCES = (
    "AWS_ACCESS_KEY_ID",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
)


def has_credentials(environ: Mapping[str, str] | None = None) -> bool:
    """True when the environment names credentials or a profile for boto3 to use."""
    environ = os.environ if environ is None else environ
    return any(environ.get(name) for name in _CREDENTIAL_SOURCES)


def configured_region(environ: Mapping[str, str] | None = None) -> str | None:
    environ = os.environ if environ is None else environ
    return environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION") or None


def local_defaults(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Dummy credentials and region variables for whatever the environment lacks."""
    environ = os.environ if environ is None else environ
    defaults: dict[str, str] = {}
    if not has_credentials(environ):
        defaults |= {
            "AWS_ACCESS_KEY_ID": DUMMY_ACCESS_KEY_ID,
            "AWS_SECRET_ACCESS_KEY": DUMMY_SECRET_ACCESS_KEY,
        }
    if not configured_region(environ):
        defaults |= {"AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION}
    return defaults


def dynamodb_client(
    endpoint_url: str | None = None, region: str | None = None, **config: Any
) -> Any:
    """A boto3 DynamoDB client; for an explicit endpoint, dummy credentials and region stand
    in for missing ones. ``config`` goes to :class:`botocore.config.Config`."""
    from botocore.config import Config

    session_options: dict[str, Any] = {"region_name": region or configured_region()}
    if endpoint_url:
        defaults = local_defaults()
        session_options["region_name"] = session_options["region_name"] or defaults.get(
            "AWS_REGION"
        )
        if "AWS_ACCESS_KEY_ID" in defaults:
            session_options["aws_access_key_id"] = defaults["AWS_ACCESS_KEY_ID"]
            session_options["aws_secret_access_key"] = defaults["AWS_SECRET_ACCESS_KEY"]
    session = _session(**session_options)
    options: dict[str, Any] = {
        "connect_timeout": 3,
        "read_timeout": 30,
        "retries": {"mode": "standard", "max_attempts": 3},
    }
    options |= config
    with _SESSIONS_LOCK:
        return session.client(
            "dynamodb", endpoint_url=endpoint_url or None, config=Config(**options)
        )


def local_client(endpoint_url: str, service_name: str = "dynamodb", **config: Any) -> Any:
    """A boto3 client for a DynamoDB Local endpoint, with dummy credentials and region.

    ``service_name`` is ``"dynamodb"`` or ``"dynamodbstreams"``. Extra keyword arguments
    go to :class:`botocore.config.Config` (defaults: 2 s connect timeout, 30 s read
    timeout, 3 standard-mode attempts, a pool of 32 connections for threaded tests).
    """
    from botocore.config import Config

    options: dict[str, Any] = {
        "connect_timeout": 2,
        "read_timeout": 30,
        "retries": {"max_attempts": 3, "mode": "standard"},
        "max_pool_connections": 32,
    }
    options.update(config)
    # A session of our own, so that AWS_PROFILE and friends in the environment are ignored.
    session = _session(
        aws_access_key_id=DUMMY_ACCESS_KEY_ID,
        aws_secret_access_key=DUMMY_SECRET_ACCESS_KEY,
        region_name=REGION,
    )
    with _SESSIONS_LOCK:
        # The stubs know each service by a literal name; this one is any service's.
        return session.client(service_name, endpoint_url=endpoint_url, config=Config(**options))


_ENVIRONMENT_CREDENTIALS = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
)
_SESSIONS: dict[tuple[Any, ...], Any] = {}
_SESSIONS_LOCK = threading.Lock()


def _session(**options: Any) -> Any:
    """One boto3 session per set of options and environment credentials. A new session
    loads and parses the service models again (about 0.1 s a client); tests and tools make
    hundreds of clients. Clients are made under a lock: a session is not thread-safe."""
    import boto3

    key = (
        tuple(sorted(options.items())),
        tuple(os.environ.get(name) for name in _ENVIRONMENT_CREDENTIALS),
    )
    with _SESSIONS_LOCK:
        session = _SESSIONS.get(key)
        if session is None:
            session = _SESSIONS[key] = boto3.session.Session(**options)
        return session
