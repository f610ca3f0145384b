"""A small progress bar on stderr (no dependency): redrawn at most ten times a second."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """``update(n)`` adds n units; ``close()`` prints the final line. Silent when disabled."""

    def __init__(
        self,
        total: int | None,
        unit: str = "ticks",
        label: str = "",
        enabled: bool | None = None,
        stream: TextIO | None = None,
        width: int = 30,
    ) -> None:
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.total = total
        self.unit = unit
        self.label = label
        self.width = width
        self.done = 0
        self.started = time.monotonic()
        self._drawn = 0.0

    def update(self, n: int) -> None:
        self.done += n
        if self.enabled and time.monotonic() - self._drawn >= 0.1:
            self._draw()

    def _draw(self, end: str = "") -> None:
        self._drawn = now = time.monotonic()
        elapsed = max(now - self.started, 1e-9)
        rate = self.done / elapsed
        if self.total:
            frac = min(self.done / self.total, 1.0)
            filled = int(frac * self.width)
            bar = "#" * filled + "." * (self.width - filled)
            text = f"[{bar}] {frac:6.1%} {self.done:,}/{self.total:,} {self.unit}"
        else:
            text = f"{self.done:,} {self.unit}"
        prefix = f"{self.label} " if self.label else ""
        self.stream.write(f"\r{prefix}{text}  {rate:,.0f} {self.unit}/s  {elapsed:5.1f}s{end}")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self._draw(end="\n")
