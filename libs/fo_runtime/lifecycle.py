"""Running a service: SIGTERM/SIGINT set a stop event; the service drains and returns."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


def run_service(main: Callable[[asyncio.Event], Awaitable[None]]) -> int:
    """Run ``main(stop)`` on a fresh loop; the first signal sets ``stop``, a second one aborts."""

    async def runner() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()

        def on_signal(signum: int) -> None:
            if stop.is_set() and task is not None:
                task.cancel()
            log.info("stopping", extra={"signal": signal.Signals(signum).name})
            stop.set()

        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, on_signal, sig)
        await main(stop)

    try:
        asyncio.run(runner())
    except asyncio.CancelledError:
        return 1
    return 0


async def wait_or_stop(stop: asyncio.Event, seconds: float) -> bool:
    """Sleep up to ``seconds``; True when ``stop`` was set meanwhile."""
    try:
        async with asyncio.timeout(seconds):  # not wait_for: it can swallow a cancellation
            await stop.wait()
    except TimeoutError:
        return False
    return True
