"""Backoff delays: jittered, growing, capped."""

import itertools
import random

from fo_runtime.backoff import delays


def test_delays_stay_within_the_growing_cap() -> None:
    values = list(itertools.islice(delays(base=0.1, cap=2.0, rng=random.Random(1)), 50))
    ceilings = [min(2.0, 0.1 * 2**n) for n in range(50)]
    assert all(0.05 <= v <= max(c, 0.05) for v, c in zip(values, ceilings, strict=True))
    assert max(values[10:]) > 0.5  # it does grow toward the cap
