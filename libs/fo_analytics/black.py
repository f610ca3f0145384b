"""Closed-form Black-76 (on the forward) and Black-Scholes (on spot) prices and Greeks in NumPy."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import ndtr

Array = NDArray[np.float64]
INV_SQRT_2PI = 1.0 / np.sqrt(2.0 * np.pi)


class Greeks(NamedTuple):
    """Trader units: theta per calendar day, vega per vol point, rho per 1 % of rate."""

    price: Array
    delta: Array
    gamma: Array
    theta: Array
    vega: Array
    rho: Array


def _pdf(x: Array) -> Array:
    return INV_SQRT_2PI * np.exp(-0.5 * x * x)


def _d1d2(u: Array, k: Array, t: Array, sigma: Array, carry: Array) -> tuple[Array, Array, Array]:
    sq = sigma * np.sqrt(t)
    d1 = (np.log(u / k) + (carry + 0.5 * sigma * sigma) * t) / sq
    return d1, d1 - sq, sq


def _arrays(*xs: ArrayLike) -> list[Array]:
    return [np.asarray(x, dtype=np.float64) for x in xs]


def black76_price(
    f: ArrayLike, k: ArrayLike, t: ArrayLike, r: ArrayLike, sigma: ArrayLike, is_call: ArrayLike
) -> Array:
    """Discounted Black-76 price: D·[F N(d1) − K N(d2)] (call), D·[K N(−d2) − F N(−d1)] (put)."""
    f_, k_, t_, r_, s_ = _arrays(f, k, t, r, sigma)
    d1, d2, _ = _d1d2(f_, k_, t_, s_, np.zeros_like(r_))
    disc = np.exp(-r_ * t_)
    call = np.asarray(is_call, dtype=bool)
    return disc * np.where(call, f_ * ndtr(d1) - k_ * ndtr(d2), k_ * ndtr(-d2) - f_ * ndtr(-d1))


def black76_greeks(
    f: ArrayLike, k: ArrayLike, t: ArrayLike, r: ArrayLike, sigma: ArrayLike, is_call: ArrayLike
) -> Greeks:
    """Black-76 Greeks with F held fixed (delta and gamma w.r.t. F; rho is discounting only)."""
    f_, k_, t_, r_, s_ = _arrays(f, k, t, r, sigma)
    call = np.asarray(is_call, dtype=bool)
    d1, d2, sq = _d1d2(f_, k_, t_, s_, np.zeros_like(r_))
    disc = np.exp(-r_ * t_)
    nd1, nd2, pdf = ndtr(d1), ndtr(d2), _pdf(d1)
    put_nd1 = ndtr(-d1)  # not 1 − N(d1): keeps deep OTM puts accurate (and ≥ 0)
    call_px = disc * (f_ * nd1 - k_ * nd2)
    put_px = disc * (k_ * ndtr(-d2) - f_ * put_nd1)
    price = np.where(call, call_px, put_px)
    delta = np.where(call, disc * nd1, -disc * put_nd1)
    gamma = disc * pdf / (f_ * sq)
    decay = -disc * f_ * pdf * s_ / (2.0 * np.sqrt(t_))
    theta = (decay + r_ * price) / 365.0
    vega = disc * f_ * pdf * np.sqrt(t_) * 0.01
    rho = -t_ * price * 0.01
    return Greeks(price, delta, gamma, theta, vega, rho)


def bs_greeks(
    s: ArrayLike, k: ArrayLike, t: ArrayLike, r: ArrayLike, sigma: ArrayLike, is_call: ArrayLike
) -> Greeks:
    """Black-Scholes Greeks on spot, no dividend (NSE's model): delta and gamma w.r.t. spot."""
    s_, k_, t_, r_, v_ = _arrays(s, k, t, r, sigma)
    call = np.asarray(is_call, dtype=bool)
    d1, d2, sq = _d1d2(s_, k_, t_, v_, r_)
    kd = k_ * np.exp(-r_ * t_)
    nd1, nd2, pdf = ndtr(d1), ndtr(d2), _pdf(d1)
    price = np.where(call, s_ * nd1 - kd * nd2, kd * ndtr(-d2) - s_ * ndtr(-d1))
    delta = np.where(call, nd1, nd1 - 1.0)
    gamma = pdf / (s_ * sq)
    decay = -s_ * pdf * v_ / (2.0 * np.sqrt(t_))
    theta = np.where(call, decay - r_ * kd * nd2, decay + r_ * kd * ndtr(-d2)) / 365.0
    vega = s_ * pdf * np.sqrt(t_) * 0.01
    rho = np.where(call, kd * t_ * nd2, -kd * t_ * ndtr(-d2)) * 0.01
    return Greeks(price, delta, gamma, theta, vega, rho)


def black76_gamma(f: Array, k: Array, t: Array | float, disc: Array | float, sigma: Array) -> Array:
    """Gamma per 1 point of F (the only Greek GEX needs; cheap path)."""
    sq = sigma * np.sqrt(t)
    d1 = (np.log(f / k) + 0.5 * sq * sq) / sq
    return disc * _pdf(d1) / (f * sq)
