"""Fan-out benchmark: the gateway against a bare uvicorn broadcast of the same bytes.

N WebSocket clients (100, 1,000, 3,000) on one symbol; ~30 KB snapshots at 1 Hz. For the
gateway, a publisher process SETs and PUBLISHes each snapshot through Redis, as the worker
does; the baseline builds the same document in-process and broadcasts it (perf-limits.md §4).
Measured: publish-to-receipt latency p50/p99, delivered messages per second, missing
messages, the server's CPU (user+sys over the window) and RSS. The server is pinned to CPU 0
and the load generator to CPU 1. Results: bench/results/fanout.json and a table on stdout.

    python -m bench.fanout [--clients 100,1000,3000] [--rounds 2] [--window 10]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import psutil

from fo_runtime.redis_server import free_port, start_redis_server

HERE = Path(__file__).resolve().parent
HELPERS = HERE / "fanout"
RESULTS = HERE / "results" / "fanout.json"
SERVER_CPU, CLIENT_CPU = 0, 1
# Targets of issue 6 at 3,000 clients: every message delivered, p99 and CPU within 1.5x.
P99_RATIO, CPU_RATIO = 1.5, 1.5


def payload_bytes() -> int:
    """Size of one published document (the helpers' ``payload.Documents``, imported by path)."""
    sys.path.insert(0, str(HELPERS))
    try:
        from payload import Documents  # type: ignore[import-not-found]
    finally:
        sys.path.remove(str(HELPERS))
    return len(Documents().next())


def raise_fd_limit() -> int:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else 65536
    resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    return wanted


def pinned(cpu: int):  # type: ignore[no-untyped-def]
    cpus = os.cpu_count() or 1
    return (lambda: os.sched_setaffinity(0, {cpu})) if cpus > max(SERVER_CPU, CLIENT_CPU) else None


def wait_http(url: str, proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer")


def stop(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is not None and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def start_server(mode: str, port: int, redis_url: str, namespace: str, logs: Path):  # type: ignore[no-untyped-def]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(HELPERS), *sys.path]))
    log = open(logs / f"{mode}-{port}.log", "wb")  # noqa: SIM115 - closed with the process
    if mode.startswith("baseline"):
        args = [sys.executable, str(HELPERS / "baseline_server.py"), "--port", str(port)]
        if mode == "baseline-text":
            args.append("--text")
        proc = subprocess.Popen(
            args, env=env, stdout=log, stderr=log, preexec_fn=pinned(SERVER_CPU)
        )
        wait_http(f"http://127.0.0.1:{port}/", proc)
        return proc, None
    env.update(
        REDIS_URL=redis_url, FO_NAMESPACE=namespace, SYMBOLS="NIFTY", PORT=str(port),
        HOST="127.0.0.1", LOG_LEVEL="WARNING", WS_MAX_CONNECTIONS="20000",
        WS_MAX_CONNECTIONS_PER_IP="0", WS_SEND_TIMEOUT_S="10",
    )  # fmt: skip
    env.pop("ANGEL_API_KEY", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "fo_gateway"], env=env, stdout=log, stderr=log,
        preexec_fn=pinned(SERVER_CPU),
    )  # fmt: skip
    publisher = subprocess.Popen(
        [sys.executable, str(HELPERS / "publisher.py"), "--redis", redis_url,
         "--namespace", namespace, "--hz", "1"],
        env=env, stdout=log, stderr=log,
    )  # fmt: skip
    wait_http(f"http://127.0.0.1:{port}/health", proc)
    return proc, publisher


def run_case(mode: str, n: int, window: float, redis_url: str, logs: Path) -> dict[str, Any]:
    port = free_port()
    namespace = f"bench{port}"
    server, publisher = start_server(mode, port, redis_url, namespace, logs)
    query = "?format=binary" if mode == "gateway-binary" else ""
    url = f"ws://127.0.0.1:{port}/ws/NIFTY/c"  # clients.py appends the client number
    client = subprocess.Popen(
        [sys.executable, str(HELPERS / "clients.py"), "--url", url, "--n", str(n),
         "--window", str(window), *(["--query", query] if query else [])],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=pinned(CLIENT_CPU),
        env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)),
    )  # fmt: skip
    proc = psutil.Process(server.pid)
    cpu0 = wall0 = None
    result: dict[str, Any] = {}
    try:
        assert client.stdout is not None
        for line in client.stdout:
            if line.startswith("window-start"):
                times = proc.cpu_times()
                cpu0, wall0 = times.user + times.system, time.monotonic()
            elif line.startswith("window-end"):
                times = proc.cpu_times()
                cpu = (times.user + times.system - cpu0) / (time.monotonic() - wall0)
                result["server_cpu_pct"] = round(100 * cpu, 2)
                result["server_rss_mb"] = round(proc.memory_info().rss / 2**20, 1)
            elif line.startswith("{"):
                result.update(json.loads(line))
        client.wait(60)
        if client.returncode != 0:
            raise RuntimeError(f"load generator failed: {client.stderr.read()[-2000:]}")  # type: ignore[union-attr]
    finally:
        stop(client)
        stop(publisher)
        stop(server)
    return {"mode": mode, **result}


def median_of(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    out = dict(rounds[0])
    for key in ("p50_ms", "p99_ms", "max_ms", "server_cpu_pct", "server_rss_mb", "delivered_per_s"):
        values = [r[key] for r in rounds if r.get(key) is not None]
        out[key] = round(statistics.median(values), 3) if values else None
    out["p99_ms_range"] = [
        round(min(r["p99_ms"] for r in rounds), 3),
        round(max(r["p99_ms"] for r in rounds), 3),
    ]
    for key in ("missing", "expected", "delivered", "ticks_in_window"):
        out[key] = sum(r[key] for r in rounds)  # over all rounds
    out["rounds"] = len(rounds)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", default="100,1000,3000")
    parser.add_argument("--modes", default="baseline,gateway", help="also: gateway-binary")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--window", type=float, default=10.0)
    args = parser.parse_args()
    fds = raise_fd_limit()
    counts = [int(x) for x in args.clients.split(",")]
    modes = args.modes.split(",")
    table: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="fanout-bench-") as tmp:
        logs = Path(tmp)
        redis = start_redis_server(logs / "redis")
        try:
            for n in counts:
                for mode in modes:
                    rounds = []
                    for _ in range(args.rounds):
                        rounds.append(run_case(mode, n, args.window, redis.url, logs))
                    row = median_of(rounds)
                    table.append(row)
                    print(
                        f"{mode:15} N={n:5}  delivered/s={row['delivered_per_s']:8.1f}  "
                        f"missing={row['missing']}/{row['expected']}  p50={row['p50_ms']:7.1f} ms  "
                        f"p99={row['p99_ms']:7.1f} ms {row['p99_ms_range']}  "
                        f"cpu={row['server_cpu_pct']:5.1f} %  rss={row['server_rss_mb']:6.1f} MB",
                        flush=True,
                    )
        finally:
            redis.stop()
    verdicts = {}
    for n in counts:
        base = next((r for r in table if r["mode"] == "baseline" and r["clients"] == n), None)
        for r in table:
            if r["clients"] != n or r["mode"] == "baseline" or base is None:
                continue
            verdicts[f"{r['mode']}@{n}"] = {
                "p99_ratio": round(r["p99_ms"] / base["p99_ms"], 2),
                "cpu_ratio": round(r["server_cpu_pct"] / base["server_cpu_pct"], 2),
                "all_delivered": r["missing"] == 0,
            }
    for key, v in verdicts.items():
        v["meets_target"] = (
            v["all_delivered"] and v["p99_ratio"] <= P99_RATIO and v["cpu_ratio"] <= CPU_RATIO
        )
        print(
            f"{key:22} p99 x{v['p99_ratio']:.2f}  cpu x{v['cpu_ratio']:.2f}  "
            f"all delivered: {v['all_delivered']}  target met: {v['meets_target']}"
        )
    report = {
        "benchmark": "fanout",
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "fd_limit": fds},
        "setup": {"payload_bytes": payload_bytes(), "hz": 1, "window_s": args.window,
                  "rounds": args.rounds, "server_cpu": SERVER_CPU, "client_cpu": CLIENT_CPU},
        "results": table,
        "vs_baseline": verdicts,
    }  # fmt: skip
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(f"written {RESULTS.relative_to(HERE.parent)}")


if __name__ == "__main__":
    main()
