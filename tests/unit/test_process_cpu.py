"""The load run's CPU accounting per process (bench/process_cpu.py), on this Linux machine."""

import os
import subprocess
import sys
import time

from bench import process_cpu


def _spin(seconds: float) -> None:
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


def test_a_process_cpu_time_grows_as_it_works():
    before = process_cpu.cpu_seconds(os.getpid())
    _spin(0.2)
    after = process_cpu.cpu_seconds(os.getpid())
    assert before is not None and after is not None
    assert after - before >= 0.15


def test_a_gone_process_has_no_figure():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert process_cpu.cpu_seconds(child.pid) is None


def test_a_servers_workers_are_its_children():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(5)"])
    try:
        assert child.pid in process_cpu.children(os.getpid())
        sample = process_cpu.sample(os.getpid(), None)
        assert sample.workers is not None and sample.engine is None
    finally:
        child.kill()
        child.wait()


def test_cpu_per_request_divides_what_each_process_spent():
    before = process_cpu.Sample(clients=1.0, server=2.0, workers=3.0, engine=None)
    after = process_cpu.Sample(clients=1.5, server=2.5, workers=5.0, engine=None)
    figures = process_cpu.per_request(before, after, requests=100, seconds=1.5)
    assert figures == {
        "clients_cpu_ms": 5.0,
        "server_cpu_ms": 5.0,
        "workers_cpu_ms": 20.0,
        "cores_busy": 2.0,
    }
