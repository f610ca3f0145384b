"""``fo-stack`` (``make run``): Redis (embedded unless REDIS_URL is set) and the three services.

Each service runs as its own OS process, exactly as compose or Render would run it. Ctrl-C
or SIGTERM stops them all (then Redis); nothing is left running and no pid file lingers.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType

from fo_runtime.healthcheck import gateway_problem
from fo_runtime.redis_server import RedisServer, RedisServerError, start_redis_server

SERVICES = ("fo_ingestor", "fo_worker", "fo_gateway")
STOP_TIMEOUT_S = 8.0


class StackError(RuntimeError):
    pass


def _claim_pidfile(path: Path) -> None:
    if path.exists():
        try:
            pid = int(path.read_text().strip())
            os.kill(pid, 0)
        except (ValueError, ProcessLookupError, PermissionError):
            path.unlink(missing_ok=True)  # stale: its process is gone
        else:
            raise StackError(f"a stack is already running (pid {pid}); stop it first")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(str(os.getpid()))


def _wait_gateway(port: int, deadline: float, children: list[subprocess.Popen[bytes]]) -> bool:
    """Poll the gateway's /health until 200, a child exits, or the deadline passes."""
    while time.monotonic() < deadline:
        if any(c.poll() is not None for c in children):
            return False
        if gateway_problem(port) is None:
            return True
        time.sleep(0.2)
    return False


def _stop(children: list[subprocess.Popen[bytes]]) -> None:
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    for child in children:
        try:
            child.wait(max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def run_stack(run_dir: Path) -> int:
    _claim_pidfile(run_dir / "stack.pid")
    redis_server: RedisServer | None = None
    children: list[subprocess.Popen[bytes]] = []
    stopping = False

    def on_signal(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        env = dict(os.environ)
        if not env.get("REDIS_URL"):
            redis_server = start_redis_server(run_dir / "redis")
            env["REDIS_URL"] = redis_server.url
            print(f"embedded redis-server on {redis_server.url} ({redis_server.binary})")
        port = int(env.setdefault("PORT", "8000"))
        for module in SERVICES:
            # A new session: Ctrl-C reaches only the stack, which then stops each child in order.
            children.append(
                subprocess.Popen([sys.executable, "-m", module], env=env, start_new_session=True)
            )
        base = f"http://127.0.0.1:{port}"
        if not _wait_gateway(port, time.monotonic() + 30, children):
            raise StackError("the gateway did not come up; see the logs above")
        # Live mode (broker credentials set) needs a token from POST /api/auth/login.
        ws_path = (
            "NIFTY/<client code>?token=<access token>" if env.get("ANGEL_API_KEY") else "NIFTY/demo"
        )
        print(
            f"\n  fo-chain is running (feed: {env.get('FEED', 'simulator')})\n"
            f"  API docs   {base}/docs\n  health     {base}/health\n"
            f"  chain      {base}/api/option-chain/NIFTY\n"
            f"  websocket  ws://127.0.0.1:{port}/ws/{ws_path}\n  Ctrl-C stops everything.\n",
            flush=True,
        )
        while not stopping:
            dead = [c for c in children if c.poll() is not None]
            if dead:
                raise StackError(f"{dead[0].args[-1]} exited with code {dead[0].returncode}")
            time.sleep(0.2)
        return 0
    except (StackError, RedisServerError) as exc:
        print(f"fo-stack: {exc}", file=sys.stderr)
        return 1
    finally:
        _stop(children)
        if redis_server is not None:
            redis_server.stop()
        (run_dir / "stack.pid").unlink(missing_ok=True)
        print("fo-stack: stopped", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fo-stack", description=__doc__)
    parser.add_argument("--run-dir", type=Path, default=Path(".run"), help="pid file, Redis data")
    args = parser.parse_args(argv)
    return run_stack(args.run_dir)


if __name__ == "__main__":
    raise SystemExit(main())
