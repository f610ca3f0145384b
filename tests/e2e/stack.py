"""Start the three services as real OS processes against a Redis, and stop them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from fo_runtime.redis_server import free_port
from tests.helpers import eventually

SERVICES = ("fo_ingestor", "fo_worker", "fo_gateway")


@dataclass
class Stack:
    redis_url: str
    namespace: str
    log_dir: Path
    env_extra: dict[str, str] = field(default_factory=dict)
    services: tuple[str, ...] = SERVICES
    port: int = field(default_factory=free_port)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "ANGEL_API_KEY"}}
        env.update(
            REDIS_URL=self.redis_url,
            FO_NAMESPACE=self.namespace,
            PORT=str(self.port),
            HOST="127.0.0.1",
            LOG_LEVEL="INFO",
        )
        env.update(self.env_extra)
        return env

    def start(self) -> Stack:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        for module in self.services:
            with open(self.log_dir / f"{module}.log", "wb") as log:
                self.processes[module] = subprocess.Popen(
                    [sys.executable, "-m", module], env=self.env(), stdout=log, stderr=log
                )
        if "fo_gateway" in self.services:
            eventually(self._gateway_up, timeout=30)
        return self

    def _gateway_up(self) -> bool:
        self.check_alive()
        return httpx.get(f"{self.base_url}/health", timeout=1).status_code == 200

    def check_alive(self) -> None:
        for module, proc in self.processes.items():
            if proc.poll() is not None:
                raise AssertionError(
                    f"{module} exited with {proc.returncode}:\n{self.logs(module)}"
                )

    def logs(self, module: str) -> str:
        path = self.log_dir / f"{module}.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def terminate(self, timeout: float = 5.0) -> dict[str, tuple[int | None, float]]:
        """SIGTERM every service; returns each one's exit code and seconds taken to exit."""
        started = time.monotonic()
        for proc in self.processes.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        results: dict[str, tuple[int | None, float]] = {}
        for module, proc in self.processes.items():
            try:
                code = proc.wait(max(timeout - (time.monotonic() - started), 0.01))
            except subprocess.TimeoutExpired:
                code = None
            results[module] = (code, time.monotonic() - started)
        self.kill()
        return results

    def kill(self) -> None:
        for proc in self.processes.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()
