"""Worker processes for ``holdfast dev``: each one a Lambda execution environment.

Lambda serves one request at a time per execution environment and runs many environments at
once; Powertools relies on the first half (the resolver keeps the current event in
process-wide state), so concurrency comes from processes, never threads. Each worker is
forked from the dev server once its engine, table and seed are ready, then builds its own
runtime (boto3 client, configuration cache) and imports the handlers it has not seen yet on
its first request, as a cold start does.

The server's request threads take an idle worker, hand it the request over a pipe and wait
for the answer, so at most ``size`` requests run in handlers at once and the others queue,
as API Gateway's requests wait for a free environment under a concurrency limit.

One difference from Lambda, on purpose: a configuration write through one worker drops the
configuration cache of every worker before its next request (deployed, the others would see
it within ``CONFIG_CACHE_SECONDS``), so scripts that configure and then sell behave the same
with one worker or many.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import signal
import threading
import traceback
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from holdfast_cli.local.api import ApiResponse, LocalApi

CONFIGURATION_FUNCTION = "ConfigurationFunction"
"""The function whose successful writes change what every environment caches."""

_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class WorkerFailed(RuntimeError):
    """The worker raised outside the handler, or died; the message has its traceback."""


@dataclass
class _Worker:
    process: multiprocessing.process.BaseProcess
    connection: Connection


class WorkerPool:
    """``size`` forked workers serving :meth:`request`; :meth:`close` stops them.

    Create it before starting any thread in the parent (fork copies only the calling thread).
    """

    def __init__(self, api: LocalApi, size: int) -> None:
        if size < 1:
            raise ValueError("a worker pool needs at least one worker")
        self._api = api
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._workers: list[_Worker] = []
        self._dead = 0
        self._generation = 0
        self._generation_lock = threading.Lock()
        context = multiprocessing.get_context("fork")
        for number in range(size):
            parent_end, child_end = context.Pipe()
            process = context.Process(
                target=_serve,
                args=(api, child_end, parent_end),
                name=f"holdfast-dev-worker-{number + 1}",
                daemon=True,
            )
            process.start()
            child_end.close()
            worker = _Worker(process, parent_end)
            self._workers.append(worker)
            self._idle.put(worker)

    @property
    def size(self) -> int:
        return len(self._workers)

    @property
    def pids(self) -> list[int]:
        return [worker.process.pid for worker in self._workers if worker.process.pid]

    def request(
        self, method: str, path: str, *, query: str, body: bytes | None, headers: dict[str, str]
    ) -> ApiResponse:
        """Answer one request in the next idle worker (waiting for one if all are busy)."""
        worker = self._next_idle()
        generation = self._generation
        try:
            worker.connection.send((generation, method, path, query, body, headers))
            outcome, value = worker.connection.recv()
        except (EOFError, OSError) as error:
            # Not returned to the pool: a dead environment is not reused.
            self._dead += 1
            raise WorkerFailed(f"{worker.process.name} died: {error!r}") from None
        self._idle.put(worker)
        if outcome == "error":
            raise WorkerFailed(value)
        if (
            method.upper() not in _READ_METHODS
            and value.status < 300
            and self._writes_configuration(method, path)
        ):
            with self._generation_lock:
                self._generation += 1
            _drop_configuration_cache()
        return value

    def _next_idle(self) -> _Worker:
        while True:
            if self._dead >= len(self._workers):
                raise WorkerFailed("every worker has died; restart holdfast dev")
            try:
                return self._idle.get(timeout=1.0)
            except queue.Empty:
                continue

    def _writes_configuration(self, method: str, path: str) -> bool:
        for route in self._api.routes:
            if route.match(method, path) is not None:
                return route.function == CONFIGURATION_FUNCTION
        return False

    def close(self, timeout: float = 10.0) -> None:
        """Let every worker finish its request, then stop it (terminate after ``timeout``)."""
        for worker in self._workers:
            if not worker.process.is_alive():
                continue
            try:
                idle = self._idle.get(timeout=timeout)
                idle.connection.send(None)
            except (queue.Empty, OSError):
                break
        for worker in self._workers:
            worker.process.join(timeout)
            if worker.process.is_alive():
                worker.process.terminate()
                worker.process.join(timeout)
            worker.connection.close()


def _drop_configuration_cache() -> None:
    """This process's own runtime (the stream functions, the scheduler), if it has one."""
    from holdfast.runtime import get_runtime

    if get_runtime.cache_info().currsize:
        get_runtime().config.invalidate()


def _serve(api: LocalApi, connection: Connection, parent_end: Connection) -> None:
    """A worker's life: requests in, answers out, until ``None`` or the pipe closes."""
    from holdfast.runtime import reset_runtime

    parent_end.close()
    # Ctrl-C reaches the whole process group: the server stops its workers itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    reset_runtime()  # the parent's client and sockets stay the parent's
    seen = 0
    while True:
        try:
            message = connection.recv()
        except (EOFError, OSError, KeyboardInterrupt):
            break
        if message is None:
            break
        generation, method, path, query, body, headers = message
        try:
            if generation != seen:
                seen = generation
                _drop_configuration_cache()
            answer: tuple[str, Any] = (
                "ok",
                api.request(method, path, query=query, body=body, headers=headers),
            )
        except Exception:
            answer = ("error", f"worker {os.getpid()}: {traceback.format_exc()}")
        try:
            connection.send(answer)
        except (OSError, ValueError):
            break
    connection.close()
