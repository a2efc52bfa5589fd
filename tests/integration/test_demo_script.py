"""`scripts/demo.sh` as a newcomer runs it: it serves once the first two simulated weeks are stored,
the rest of the scenario fills the store behind the server (its progress on the overview), and
Ctrl-C stops the server and an unfinished simulation, which the next run starts again."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.live_server import free_port

ROOT = Path(__file__).resolve().parents[2]
# Long enough to be unfinished when the server starts, small enough to be quick.
SCENARIO = """name = "small"
seed = 3
[run]
start = "2026-06-01"
days = 120
orders_per_day = 60
[catalog]
products = 40
[customers]
customers = 300
"""


def _clone(tmp_path: Path) -> Path:
    # The clone's layout the script needs: its scripts, pyproject (the venv stamp), the venv.
    clone = tmp_path / "clone"
    shutil.copytree(ROOT / "scripts", clone / "scripts")
    shutil.copy(ROOT / "pyproject.toml", clone / "pyproject.toml")
    (clone / "scenarios").mkdir()
    (clone / "scenarios" / "small.toml").write_text(SCENARIO)
    (clone / ".venv").symlink_to(Path(sys.prefix), target_is_directory=True)
    return clone


def _start(clone: Path, port: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PERFECTORDER_")}
    env.update(PORT=str(port), DEMO_SCENARIO=str(clone / "scenarios" / "small.toml"), COLUMNS="200")
    with (clone / "demo.out").open("wb") as out:
        return subprocess.Popen(
            ["bash", "scripts/demo.sh"],
            cwd=clone,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: Ctrl-C reaches the group, as in a terminal
        )


def _said(clone: Path) -> str:
    return (clone / "demo.out").read_text(errors="replace")


def _wait_until_served(demo: subprocess.Popen[bytes], clone: Path, port: int, timeout: float = 240) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        said = _said(clone)
        if demo.poll() is not None:
            raise AssertionError(f"the demo ended early:\n{said}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/login", timeout=2).status_code == 200:
                return said
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"not served within {timeout} s:\n{_said(clone)}")


def _simulators(clone: Path) -> list[str]:
    listed = subprocess.run(["pgrep", "-af", "simulate"], capture_output=True, text=True, check=False)
    return [line for line in listed.stdout.splitlines() if str(clone) in line]


def _ctrl_c(demo: subprocess.Popen[bytes], clone: Path) -> str:
    os.killpg(demo.pid, signal.SIGINT)
    demo.wait(timeout=60)
    return _said(clone)


def test_the_demo_serves_while_it_simulates_and_ctrl_c_stops_both(tmp_path):
    clone = _clone(tmp_path)
    port = free_port()
    demo = _start(clone, port)
    try:
        said = _wait_until_served(demo, clone, port)
        assert "ready after" in said, said
        key_file = (clone / "var" / "demo-key.txt").read_text().split()
        user, password = key_file[2], key_file[3]
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as http:
            login = http.post("/login", data={"username": user, "password": password})
            assert login.status_code == 303, login.text
            # The session cookie is Secure, which browsers keep for 127.0.0.1 and httpx does not.
            session = login.headers["set-cookie"].split(";")[0]
            page = http.get("/", headers={"Cookie": session}).text
            # Served with the simulation still going: its progress shows and the page reloads.
            progress = re.search(r"is filling the store: day (\d+) of 120", page)
            assert progress and int(progress.group(1)) >= 14, page[:2000]
            assert 'http-equiv="refresh"' in page
            assert int(re.search(r'id="final-orders">(\d+)<', page).group(1)) > 0
            # The sample catalog is there for the README's examples, while the simulation runs.
            headers = {"Authorization": f"Bearer {key_file[-1]}"}
            mug = http.get("/api/v1/products/MUG-CERAMIC-BLUE", headers=headers)
            assert mug.status_code == 200, mug.text
        assert _simulators(clone), "the simulation should still be running"
    finally:
        out = _ctrl_c(demo, clone)
    assert not _simulators(clone), out
    assert "the next run starts it again" in out
    assert not list((clone / "var").glob("demo.*.done"))  # unfinished: simulated again next time
