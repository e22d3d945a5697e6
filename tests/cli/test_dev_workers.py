"""``holdfast dev --workers N`` serves N requests at once, one per worker process, as Lambda
runs many execution environments at once; a configuration write is seen by every worker."""

from __future__ import annotations

import json
import os
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from holdfast_cli.local.api import LocalApi
from holdfast_cli.local.dev_server import serve
from tests.cli.http_client import call

pytestmark = pytest.mark.dynamodb_local

HANDLER_SECONDS = 0.4
"""Every invocation sleeps this long first (patched before the workers fork), so overlap
shows in wall time whatever the machine's load."""


@pytest.fixture
def slow_handlers(monkeypatch):
    invoke = LocalApi.invoke

    def slow_invoke(self, function_name, event):
        time.sleep(HANDLER_SECONDS)
        return invoke(self, function_name, event)

    monkeypatch.setattr(LocalApi, "invoke", slow_invoke)


def served(endpoint: str, table: str, workers: int | None):
    return serve(
        endpoint_url=endpoint,
        table=table,
        port=0,
        load_seed=False,
        stream=False,
        schedules=False,
        log=None,
        workers=workers,
    )


def at_once(url: str, count: int) -> tuple[float, list[tuple[int, object]]]:
    start = time.perf_counter()
    with ThreadPoolExecutor(count) as pool:
        answers = list(pool.map(lambda _: call(url), range(count)))
    return time.perf_counter() - start, answers


def test_four_workers_answer_four_slow_requests_in_well_under_four_times_one(
    slow_handlers, dynamodb_local_endpoint, dynamodb_local_table_name
):
    with served(dynamodb_local_endpoint, dynamodb_local_table_name, workers=4) as server:
        assert any(line.startswith("workers: 4 processes") for line in server.background)
        at_once(f"{server.url}/timers", 4)  # every worker imports its handler (a cold start)

        elapsed, answers = at_once(f"{server.url}/timers", 4)

    assert [status for status, _ in answers] == [200] * 4
    # Serialized they take 4 x 0.4 s at least; overlapped about 0.4 s plus the engine.
    assert elapsed < 2.5 * HANDLER_SECONDS


def test_without_workers_the_same_requests_queue_one_at_a_time(
    slow_handlers, dynamodb_local_endpoint, dynamodb_local_table_name
):
    with served(dynamodb_local_endpoint, dynamodb_local_table_name, workers=None) as server:
        elapsed, answers = at_once(f"{server.url}/timers", 4)

    assert [status for status, _ in answers] == [200] * 4
    assert elapsed >= 4 * HANDLER_SECONDS


def test_a_configuration_write_in_one_worker_is_seen_at_once_by_every_worker(
    slow_handlers, dynamodb_local_endpoint, dynamodb_local_table_name
):
    with served(dynamodb_local_endpoint, dynamodb_local_table_name, workers=3) as server:
        _, before = at_once(f"{server.url}/timers", 3)  # each worker caches the configuration
        status, _ = call(f"{server.url}/timers", "PUT", json.dumps({"globalMinutes": 42}).encode())
        assert status == 200
        _, after = at_once(f"{server.url}/timers", 3)

    assert all(body["globalMinutes"] != 42 for _, body in before)
    assert [body["globalMinutes"] for _, body in after] == [42, 42, 42]


def test_shutdown_stops_every_worker_process(dynamodb_local_endpoint, dynamodb_local_table_name):
    server = served(dynamodb_local_endpoint, dynamodb_local_table_name, workers=2)
    pids = server._httpd.pool.pids
    assert len(pids) == 2 and call(f"{server.url}/timers")[0] == 200
    server.shutdown()

    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
