"""Jittered, capped exponential delays for every reconnect loop (pure)."""

from __future__ import annotations

import random
from collections.abc import Iterator


def delays(
    base: float = 0.1, cap: float = 5.0, factor: float = 2.0, rng: random.Random | None = None
) -> Iterator[float]:
    """Endless "full jitter" delays: uniform in [0, min(cap, base·factor^n)], never below base/2."""
    rand = rng or random.Random()
    ceiling = base
    while True:
        yield max(base / 2, rand.uniform(0, ceiling))
        ceiling = min(cap, ceiling * factor)
