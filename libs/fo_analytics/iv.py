"""Implied volatility: our own input masks, then py_vollib_vectorized's Let's Be Rational kernel.

A leg the masks reject, or the solver cannot invert, gets NaN and a reason code; never 0.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

# The jitted kernel behind ``vectorized_implied_volatility``. Its public wrapper adds a Python
# loop over flags and intrinsic checks we already do (and skips them with on_error="ignore").
from py_vollib_vectorized._iv_models import (  # pinned 0.1.1; see requirements/runtime.txt
    implied_volatility_from_a_transformed_rational_guess as _lbr_kernel,
)

Array = NDArray[np.float64]
Codes = NDArray[np.int8]

# Reason codes: index into STATUS. 0 = solved; the rest mean "IV is null because ...".
STATUS: tuple[str, ...] = (
    "ok",
    "no_quote",
    "stale",
    "expired",
    "no_forward",
    "invalid_input",
    "below_intrinsic",
    "no_time_value",
    "above_max",
    "solver_failed",
    "wide_spread",  # solved, but on a wide two-sided quote (a warning, IV is kept)
)
CODE = {name: np.int8(i) for i, name in enumerate(STATUS)}
_WIDE = CODE["wide_spread"]
MAX_IV = 20.0  # 2000 % — beyond this the solver output is not a volatility


def _first_reason(codes: Codes, mask: NDArray[np.bool_], name: str) -> None:
    """Set ``name`` where ``mask`` holds and no reason is set yet (a warning can be replaced)."""
    codes[((codes == 0) | (codes == _WIDE)) & mask] = CODE[name]


def black_iv(
    price: ArrayLike,
    f: ArrayLike,
    k: ArrayLike,
    t: ArrayLike,
    r: ArrayLike,
    is_call: ArrayLike,
    codes: Codes | None = None,
) -> tuple[Array, Codes]:
    """Black-76 IV of discounted prices; ``codes`` may carry earlier reasons (kept first)."""
    p_, f_, k_, t_, r_ = (np.asarray(x, dtype=np.float64) for x in (price, f, k, t, r))
    p_, f_, k_, t_, r_ = np.broadcast_arrays(p_, f_, k_, t_, r_)
    call = np.broadcast_to(np.asarray(is_call, dtype=bool), p_.shape)
    out = np.full(p_.shape, np.nan)
    c = np.zeros(p_.shape, np.int8) if codes is None else codes.copy()
    with np.errstate(invalid="ignore", over="ignore"):
        _first_reason(c, ~(t_ > 0), "expired")
        _first_reason(c, ~(f_ > 0) | ~np.isfinite(f_), "no_forward")
        _first_reason(c, ~(k_ > 0) | ~np.isfinite(k_) | ~np.isfinite(r_), "invalid_input")
        _first_reason(c, ~(p_ > 0) | ~np.isfinite(p_), "no_quote")
        undisc = p_ * np.exp(r_ * t_)
        intrinsic = np.maximum(np.where(call, f_ - k_, k_ - f_), 0.0)
        _first_reason(c, undisc >= np.where(call, f_, k_), "above_max")
        _first_reason(c, undisc < intrinsic, "below_intrinsic")
        _first_reason(c, undisc <= intrinsic, "no_time_value")
    todo = (c == 0) | (c == _WIDE)
    if todo.any():
        q = np.where(call[todo], 1.0, -1.0)
        args = (undisc[todo], f_[todo], k_[todo], t_[todo], q)
        solved = np.asarray(_lbr_kernel(*(np.ascontiguousarray(a) for a in args)), np.float64)
        bad = ~((solved > 0) & (solved < MAX_IV))
        solved[bad] = np.nan
        out[todo] = solved
        sub = c[todo]
        sub[bad] = CODE["solver_failed"]
        c[todo] = sub
    return out, c


def status_names(codes: Codes) -> list[str]:
    """Reason strings for a code array (a plain list, JSON-ready)."""
    names = np.asarray(STATUS, dtype=object)
    return names[codes].tolist()
