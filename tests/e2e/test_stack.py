"""``make run``'s launcher: embedded Redis, three services, a snapshot in 15 s, clean Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import psutil
import pytest

from fo_runtime.redis_server import free_port
from tests.helpers import eventually

pytestmark = pytest.mark.e2e


def test_stack_starts_embedded_redis_serves_a_chain_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "stack.pid").write_text("999999")  # stale: left by a crashed run
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "SECRET_KEY"}}
    env.update(PORT=str(port), HOST="127.0.0.1", FO_NAMESPACE="stacktest")
    stack = subprocess.Popen(
        [sys.executable, "-m", "fo_runtime.stack", "--run-dir", str(run_dir)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        chain = eventually(
            lambda: (
                (
                    r := httpx.get(f"http://127.0.0.1:{port}/api/option-chain/NIFTY", timeout=2)
                ).status_code
                == 200
                and r.json()
            ),
            timeout=15,
        )
        assert chain["symbol"] == "NIFTY" and chain["chain"]["strike"]
        assert int((run_dir / "stack.pid").read_text()) == stack.pid
        children = psutil.Process(stack.pid).children(recursive=True)
        names = " ".join(" ".join(c.cmdline()) for c in children)
        assert "redis-server" in names and "fo_worker" in names and "fo_gateway" in names

        stack.send_signal(signal.SIGINT)  # what Ctrl-C delivers
        output = stack.communicate(timeout=15)[0].decode()
        assert stack.returncode == 0, output
        assert f"ws://127.0.0.1:{port}/ws/NIFTY/demo" in output
        _, alive = psutil.wait_procs(children, timeout=5)
        assert not alive, f"left behind: {alive}"
        assert not (run_dir / "stack.pid").exists()
    finally:
        if stack.poll() is None:
            stack.kill()
