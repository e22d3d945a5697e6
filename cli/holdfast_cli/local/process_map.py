"""Run many shoppers at once against a real engine, one process per "execution environment".

Lambda runs one request at a time per execution environment, and Powertools' resolvers rely
on it (the current event is process-wide state). To load a real DynamoDB engine with truly
concurrent requests through the real handlers, each worker is a forked process with its own
handlers, its own runtime and its own boto3 client.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterable
from typing import TypeVar

from holdfast.runtime import reset_runtime

T = TypeVar("T")
R = TypeVar("R")


def _fresh_environment() -> None:
    # Sockets and clients must not be shared with the parent after fork.
    reset_runtime()


def map_in_processes(func: Callable[[T], R], items: Iterable[T], processes: int = 8) -> list[R]:
    """``map(func, items)`` across ``processes`` forked workers, in order. ``func`` must be a
    module-level function; it is called in a worker with the parent's environment variables."""
    context = multiprocessing.get_context("fork")
    with context.Pool(processes, initializer=_fresh_environment) as pool:
        return pool.map(func, list(items), chunksize=1)
