"""The private redis-server the tests and `make run` start dies with whoever started it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis

LAUNCHER = """
import sys, time
from pathlib import Path
from fo_runtime.redis_server import start_redis_server
server = start_redis_server(Path(sys.argv[1]))
print(server.port, server.process.pid, flush=True)
time.sleep(600)
"""


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has ended


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="parent-death signal is Linux")
def test_a_killed_launcher_leaves_no_redis_behind(tmp_path: Path) -> None:
    with subprocess.Popen(
        [sys.executable, "-c", LAUNCHER, str(tmp_path / "redis")], stdout=subprocess.PIPE, text=True
    ) as launcher:
        assert launcher.stdout is not None
        port, pid = map(int, launcher.stdout.readline().split())
        try:
            with redis.Redis(port=port) as client:
                assert client.ping()
            launcher.send_signal(signal.SIGKILL)  # no cleanup code can run
            launcher.wait(5)
            deadline = time.monotonic() + 10
            while alive(pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert not alive(pid), "redis-server outlived the process that started it"
        finally:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
