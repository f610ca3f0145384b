"""The maths: chain state and per-expiry analytics (pure; ``now`` is a parameter)."""

from __future__ import annotations

_warm = False


def warm_up() -> None:
    """Load (or JIT-compile, first time ever) the IV kernel before the first tick.

    py_vollib_vectorized jits with numba's ``cache=True``, so after the first run on a machine
    this only loads the cached machine code. A second call in the same process is a no-op.
    """
    global _warm
    if _warm:
        return
    import numpy as np

    from fo_analytics.iv import black_iv

    black_iv(np.array([5.637197779701664, 0.5]), 100.0, np.array([100.0, 90.0]), 0.5, 0.0, [1, 0])
    _warm = True
