"""``python -m fo_runtime.healthcheck SERVICE``: exit 0 when the service on this host is healthy.

Container health commands: the gateway must answer ``/health``; the ingestor and the worker
must have a fresh heartbeat key (written every 2 s with a 10 s TTL) from this host.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import urllib.request

import redis

from fo_runtime.settings import CommonSettings, load_settings


def gateway_problem(port: int) -> str | None:
    """None when the gateway answers /health with 200, else what went wrong."""
    url = f"http://127.0.0.1:{port}/health"
    try:
        with urllib.request.urlopen(url, timeout=3) as resp:
            return None if resp.status == 200 else f"{url} answered {resp.status}"
    except OSError as exc:
        return f"no answer from {url} ({exc})"


def heartbeat_pattern(settings: CommonSettings, service: str, instance: str | None) -> str:
    """The SCAN pattern of this process's heartbeat key: exactly ``INSTANCE_ID`` when it is set,
    else the default id ``<hostname>-<pid>`` of this host (``web-1`` never matches ``web-10``)."""
    if instance:
        return _glob_escape(settings.names.health_key(service, instance))
    return _glob_escape(settings.names.health_key(service, socket.gethostname())) + "-*"


def _glob_escape(text: str) -> str:
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)


def heartbeat_present(settings: CommonSettings, pattern: str) -> bool:
    """A heartbeat key matching ``pattern`` exists (they expire 10 s after the last beat)."""
    client = redis.Redis.from_url(settings.redis_url, socket_timeout=3, socket_connect_timeout=3)
    try:
        return any(True for _ in client.scan_iter(match=pattern, count=500))
    except redis.RedisError:
        return False
    finally:
        client.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fo-healthcheck", description=__doc__)
    parser.add_argument("service", choices=["ingestor", "worker", "gateway"])
    args = parser.parse_args(argv)
    if args.service == "gateway":
        problem = gateway_problem(int(os.environ.get("PORT", "8000")))
    else:
        settings = load_settings(CommonSettings)
        pattern = heartbeat_pattern(settings, args.service, os.environ.get("INSTANCE_ID"))
        ok = heartbeat_present(settings, pattern)
        problem = None if ok else f"no fresh heartbeat {pattern} (or Redis unreachable)"
    print(
        f"{args.service}: {'healthy' if problem is None else 'unhealthy: ' + problem}",
        file=sys.stderr,
    )
    return 0 if problem is None else 1


if __name__ == "__main__":
    raise SystemExit(main())
