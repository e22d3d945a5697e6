"""Where a load run's CPU goes: the load clients, the dev server, its workers and the engine.

On a 2-core machine every process of a local run shares the same two cores, so req/s stops
growing once they are busy, whatever the worker count. These figures say which process used
them. They read Linux's ``/proc/<pid>/stat`` (user + system time of live processes); elsewhere
they are absent.
"""

from __future__ import annotations

import os
import resource
from dataclasses import dataclass
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of a live process, or None."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime, stime (fields 14, 15)


def children(pid: int) -> list[int]:
    """The live child processes of ``pid``."""
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            found += [int(child) for child in task.read_text().split()]
        except OSError:
            continue
    return found


@dataclass
class Sample:
    clients: float
    server: float | None
    workers: float | None
    engine: float | None


def sample(server_pid: int | None, engine_pid: int | None) -> Sample:
    """CPU seconds so far: this process (the clients), the server, its workers, the engine."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    server = cpu_seconds(server_pid) if server_pid else None
    workers = None
    if server_pid:
        times = [cpu_seconds(child) for child in children(server_pid)]
        workers = sum(t for t in times if t is not None)
    return Sample(
        usage.ru_utime + usage.ru_stime,
        server,
        workers,
        cpu_seconds(engine_pid) if engine_pid else None,
    )


def per_request(before: Sample, after: Sample, requests: int, seconds: float) -> dict[str, float]:
    """CPU milliseconds per request by process, and the cores they kept busy together."""
    spent: dict[str, float] = {}
    for name in ("clients", "server", "workers", "engine"):
        start, end = getattr(before, name), getattr(after, name)
        if start is not None and end is not None:
            spent[name] = end - start
    figures = {f"{name}_cpu_ms": round(s * 1000 / requests, 2) for name, s in spent.items()}
    figures["cores_busy"] = round(sum(spent.values()) / seconds, 2) if seconds else 0.0
    return figures
