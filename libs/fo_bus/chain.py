"""The columnar chain document (kind ``chain``, version 2) and the pure helpers that read it.

Besides its scalars (spot, forward, pcr, gex, …) a chain document carries
``"layout": "columns"`` and ``chain``: one list per field, one entry per strike (ascending)::

    {"strike": [...], "iv": [...], "gex_call": [...], "gex_put": [...], "gex_net": [...],
     "CE": {"token": [...], "ltp": [...], ...}, "PE": {...}}

A strike without a call has ``CE.token[i] = null`` and every other CE field null at ``i`` (the
same for puts). Columns are small on the wire and cheap to build (slices of lists made once per
worker cycle); :func:`rows` gives the classic per-strike shape to clients that want it. No numpy
here: the gateway and tools use this module without the analytics stack.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, Final

COLUMNS: Final = "columns"
ROWS: Final = "rows"
LAYOUTS: Final = (COLUMNS, ROWS)
SIDES: Final = ("CE", "PE")
LEG_FIELDS: Final = (
    "token", "ltp", "bid", "ask", "bid_qty", "ask_qty", "volume", "oi", "oi_change",
    "prev_close", "prev_oi", "ts", "iv", "iv_status", "delta", "gamma", "theta", "vega", "rho",
    "buildup",
)  # fmt: skip
STRIKE_FIELDS: Final = ("strike", "iv", "gex_call", "gex_put", "gex_net")

Doc = dict[str, Any]


def columns(doc: Doc) -> Doc:
    """The ``chain`` object of a columnar document; ValueError for any other document."""
    chain = doc.get("chain")
    if doc.get("layout") != COLUMNS or not isinstance(chain, dict):
        raise ValueError("not a columnar chain document (layout 'columns' with a 'chain')")
    if not isinstance(chain.get("strike"), list):
        raise ValueError("chain document without a 'strike' column")
    return chain


def _replace_chain(doc: Doc, chain: Doc) -> Doc:
    """``doc`` with another ``chain`` object, every other key shared (shallow copy)."""
    return {k: chain if k == "chain" else v for k, v in doc.items()}


def leg_fields(doc: Doc) -> set[str]:
    """Every leg field name the document carries (calls and puts together)."""
    chain = columns(doc)
    return {f for side in SIDES for f in chain.get(side) or {}}


def window(doc: Doc, lo: int, hi: int) -> Doc:
    """The document with strikes ``lo:hi`` only (Python slice bounds; every column sliced)."""
    chain = columns(doc)
    out: Doc = {}
    for key, col in chain.items():
        if key in SIDES:
            out[key] = None if col is None else {f: v[lo:hi] for f, v in col.items()}
        else:
            out[key] = col[lo:hi]
    return _replace_chain(doc, out)


def select_legs(doc: Doc, fields: Iterable[str]) -> Doc:
    """The ``strike`` column and, per side, ``token`` plus the named leg fields it has.

    The other per-strike columns (headline ``iv``, ``gex_*``) are dropped. ``token`` stays
    because its null is what tells a missing contract from a value not known yet.
    """
    chain = columns(doc)
    wanted = ["token", *(f for f in dict.fromkeys(fields) if f != "token")]
    out: Doc = {"strike": chain["strike"]}
    for side in SIDES:
        col = chain.get(side)
        out[side] = None if col is None else {f: col[f] for f in wanted if f in col}
    return _replace_chain(doc, out)


def nearest(doc: Doc, price: float) -> int | None:
    """Index of the strike nearest ``price`` (the lower one on a tie); None without strikes."""
    strikes = columns(doc)["strike"]
    if not strikes:
        return None
    return min(range(len(strikes)), key=lambda i: abs(strikes[i] - price))


def _side_legs(col: Doc | None, n: int, fields: list[str] | None) -> list[Doc | None]:
    if not col:
        return [None] * n
    names = [f for f in (col if fields is None else fields) if f in col]
    tokens = col.get("token")
    if tokens is None:  # no token column: every leg of the side is listed
        tokens = [True] * n
    values = [col[f] for f in names]
    return [
        None if tk is None else dict(zip(names, vals, strict=True))
        for tk, *vals in zip(tokens, *values, strict=True)
    ]


def rows(doc: Doc, fields: Iterable[str] | None = None) -> Doc:
    """The classic per-strike form: ``strikes: [{strike, CE, PE, iv, gex_call, …}]``.

    Each leg is a dict of the leg fields (all the side carries, or only ``fields``), or None
    where the contract is not listed (``token`` null). ``layout`` becomes ``rows`` and
    ``strikes`` takes the place of ``chain``; every other key is kept as is.
    """
    chain = columns(doc)
    names = None if fields is None else list(fields)
    strikes = chain["strike"]
    n = len(strikes)
    ce = _side_legs(chain.get("CE"), n, names)
    pe = _side_legs(chain.get("PE"), n, names)
    extra = [k for k in chain if k != "strike" and k not in SIDES]  # iv, gex_call, …
    table = [
        {"strike": k, "CE": c, "PE": p, **dict(zip(extra, vals, strict=True))}
        for k, c, p, *vals in zip(strikes, ce, pe, *(chain[k] for k in extra), strict=True)
    ]
    out: Doc = {}
    for key, value in doc.items():
        if key == "layout":
            out[key] = ROWS
        elif key == "chain":
            out["strikes"] = table
        else:
            out[key] = value
    return out


def legs(doc: Doc) -> Iterator[tuple[str, Doc]]:
    """(token, leg fields) of every listed leg, calls then puts (checkpoint restore)."""
    chain = columns(doc)
    n = len(chain["strike"])
    for side in SIDES:
        for leg in _side_legs(chain.get(side), n, None):
            if leg is not None and leg.get("token") is not None:
                yield str(leg["token"]), leg
