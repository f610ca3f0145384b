"""Implied volatility: our own input masks, then py_vollib_vectorized's Let's Be Rational kernel.

A leg the masks reject, or the solver cannot invert, gets NaN and a reason code; never 0.
"""

from __future__ import annotations

import contextlib

import numpy as np
from numpy.typing import ArrayLike, NDArray

# The jitted kernel behind ``vectorized_implied_volatility``. Its public wrapper adds a Python
# loop over flags and intrinsic checks we already do (and skips them with on_error="ignore").
from py_vollib_vectorized._iv_models import (  # pinned 0.1.1; see requirements/runtime.txt
    implied_volatility_from_a_transformed_rational_guess as _lbr_kernel,
)

from fo_analytics.black import black76_price

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
MIN_IV = 1e-4  # 0.01 % a year: a time value smaller than this vol gives carries no IV
_SOLVER_ERRORS = (ArithmeticError, ValueError)  # what the jitted kernel can raise


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
        _first_reason(c, _below_min_vol(undisc - intrinsic, f_, k_, t_, c), "no_time_value")
    todo = (c == 0) | (c == _WIDE)
    if todo.any():
        q = np.where(call[todo], 1.0, -1.0)
        solved = _solve(undisc[todo], f_[todo], k_[todo], t_[todo], q)
        bad = ~((solved > 0) & (solved < MAX_IV))
        solved[bad] = np.nan
        out[todo] = solved
        sub = c[todo]
        sub[bad] = CODE["solver_failed"]
        c[todo] = sub
    return out, c


def _below_min_vol(tv: Array, f: Array, k: Array, t: Array, codes: Codes) -> NDArray[np.bool_]:
    """Time value below the Black time value at σ = MIN_IV (where still unresolved).

    A flat floor relative to F or K would not do: far from the money a tiny time value is a
    fine IV (Let's Be Rational's own test values go down to 1e-157 of F), while at the money
    it means σ ≈ 0, where the kernel divides by zero. The time value is largest at K = F,
    √(FK)·(2N(s/2) − 1) < 0.4·s·√(FK), so only legs under that bound need the exact value.
    """
    out = np.zeros(tv.shape, bool)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        s = MIN_IV * np.sqrt(t)
        idx = np.flatnonzero(((codes == 0) | (codes == _WIDE)) & (tv < 0.4 * s * np.sqrt(f * k)))
        if idx.size:
            fi, ki, ti = f.ravel()[idx], k.ravel()[idx], t.ravel()[idx]
            otm = black76_price(fi, ki, ti, 0.0, MIN_IV, ki >= fi)  # undiscounted, OTM side
            out.ravel()[idx] = tv.ravel()[idx] < otm
    return out


def _solve(p: Array, f: Array, k: Array, t: Array, q: Array) -> Array:
    """The LBR kernel on the whole batch; if it raises, element by element (NaN where it does).

    Masked inputs are finite and positive, but floating-point corners the masks cannot
    foresee (e.g. F = K = 1e300) make the jitted code raise; one leg must not sink the rest.
    """
    args = [np.ascontiguousarray(a, dtype=np.float64) for a in (p, f, k, t, q)]
    try:
        return np.asarray(_lbr_kernel(*args), np.float64)
    except _SOLVER_ERRORS:
        out = np.full(p.shape, np.nan)
        for i in range(p.size):
            with contextlib.suppress(*_SOLVER_ERRORS):
                out[i] = _lbr_kernel(*(a[i : i + 1] for a in args))[0]
        return out


def status_names(codes: Codes) -> list[str]:
    """Reason strings for a code array (a plain list, JSON-ready)."""
    names = np.asarray(STATUS, dtype=object)
    return np.asarray(names[codes], dtype=object).tolist()
