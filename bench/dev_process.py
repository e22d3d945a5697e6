"""``holdfast dev`` in its own process, for a load run: started on a free port, its banner read
for the URL, the table and the DynamoDB endpoint, stopped with its engine."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import threading
import time

from bench.load_run import LoadError

START_TIMEOUT = 120.0


BANNER = re.compile(
    r"Holdfast API on (?P<url>http://\S+)\s+\(table (?P<table>\S+), DynamoDB (?P<endpoint>[^\s,)]+)"
)


class DevProcess:
    """``holdfast dev --port 0 --empty --no-stream`` in its own process; its banner names the
    URL, the table and the DynamoDB endpoint."""

    def __init__(
        self, endpoint_url: str | None, table: str | None, workers: int | None = None
    ) -> None:
        command = [sys.executable, "-m", "holdfast_cli.main", "dev", "--port", "0", "--empty"]
        command.append("--no-stream")
        if workers:
            command += ["--workers", str(workers)]
        if endpoint_url:
            command += ["--endpoint-url", endpoint_url]
        if table:
            command += ["--table", table]
        self.log = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 (lives as long as the server; closed in stop())
        environment = {**os.environ}
        environment.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=self.log, text=True, env=environment
        )
        self.url = self.table = self.endpoint_url = ""

    def wait_ready(self) -> DevProcess:
        deadline = time.monotonic() + START_TIMEOUT
        assert self.process.stdout is not None
        for line in self.process.stdout:
            match = BANNER.search(line)
            if match:
                self.url, self.table = match["url"], match["table"]
                self.endpoint_url = match["endpoint"]
                threading.Thread(target=self._drain, daemon=True).start()
                return self
            if time.monotonic() > deadline:
                break
        self.stop()
        raise LoadError(f"holdfast dev did not start:\n{self.log_tail()}")

    def _drain(self) -> None:
        assert self.process.stdout is not None
        for _ in self.process.stdout:
            pass

    def log_tail(self, lines: int = 20) -> str:
        self.log.seek(0)
        return "".join(self.log.readlines()[-lines:])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()  # holdfast dev stops its DynamoDB Local on SIGTERM
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
