"""Runs the real server (uvicorn in its own process) against a prepared database."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx


def run_cli(database_url: str, *args: str, timeout: float = 600) -> str:
    """Runs the installed `perfectorder` command against the database, as an operator would; its
    output, or the test fails with what it printed."""
    done = subprocess.run(
        [str(Path(sys.executable).parent / "perfectorder"), *args],
        env={**os.environ, "PERFECTORDER_DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class ServerProcess:
    """One uvicorn process; can be killed without warning and started again on the same port."""

    def __init__(self, database_url: str, **env: str) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self._env = {**os.environ, "PERFECTORDER_DATABASE_URL": database_url, **env}
        # A file, not a pipe: a chatty server must never block on a pipe nobody reads.
        self._log = tempfile.TemporaryFile(mode="w+")
        self._process: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "uvicorn",
            "perfectorder.api.app:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--log-level",
            "warning",
        ]

    def start(self) -> None:
        self._process = subprocess.Popen(
            self.command(),
            env=self._env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self._wait_ready()

    def kill(self) -> None:
        """SIGKILL: no shutdown hooks, no flushing, as in a power cut of the process."""
        assert self._process is not None
        self._process.send_signal(signal.SIGKILL)
        self._process.wait(timeout=10)

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._log.close()

    def output(self) -> str:
        self._log.seek(0)
        return self._log.read()

    def _wait_ready(self) -> None:
        assert self._process is not None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"server exited with {self._process.returncode}:\n{self.output()}")
            try:
                if httpx.get(f"{self.base}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise RuntimeError("server did not become ready within 30 s")


@contextmanager
def running_server(database_url: str, **env: str) -> Iterator[str]:
    server = ServerProcess(database_url, **env)
    try:
        server.start()
        yield server.base
    finally:
        server.stop()
