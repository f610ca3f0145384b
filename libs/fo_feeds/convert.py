"""Real public market data into tapes: NSE option-chain JSON, NSE UDiFF F&O bhavcopy, Angel dumps.

Each input file is one snapshot: every leg becomes one tick at the snapshot's market time,
plus a spot tick when the source carries the underlying value. Several snapshots make a
multi-step tape (two captures of one day become a two-step tape), in time order.

Units are normalised once, here, to the bus's canonical units (see PROVENANCE.md of the data):

| source | OI in | volume in | ticks carry |
|---|---|---|---|
| NSE option-chain JSON | contracts (may be fractional) | contracts | round(x × lot) |
| NSE UDiFF bhavcopy | shares | contracts | OI as is, volume × lot |
| Angel SnapQuote chain dump | shares | shares | as is |

A leg the source does not list gets no instrument; a price of 0 is "no price" (the field is
left out of the tick, never sent as 0). OI and volume of a listed leg are kept even when 0:
for those the exchange's 0 is a real value.
"""

from __future__ import annotations

import csv
import gzip
import io
import math
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Final

import orjson

from fo_feeds.simulator import SPOT_TOKENS
from fo_feeds.tape import Batch, TapeHeader
from fo_instruments.calendar import IST, expiry_close
from fo_instruments.catalogue import INDICES
from fo_models import Instrument, InstrumentKind, InstrumentSet, Right, Tick

KINDS: Final = ("nse-json", "udiff", "angel-chain")
KIND_NAMES: Final = {
    "nse-json": "NSE option-chain JSON",
    "udiff": "NSE UDiFF F&O bhavcopy CSV",
    "angel-chain": "Angel SnapQuote chain dump",
    "tape": "fo-tape (already a tape)",
}
_ANGEL_ROW = re.compile(r"^\d{2}[A-Z]{3}\d{4}(/-?[0-9.]+){7}$")
_DATE_IN_NAME = re.compile(r"(\d{4}-\d{2}-\d{2})")

# Lot sizes NSE set for the periods of the data we convert, used only for sources that do not
# show the lot (Angel dumps). (symbol, first day, last day, lot); --lot-size overrides.
LOT_HISTORY: Final = (
    ("NIFTY", date(2020, 1, 1), date(2021, 6, 30), 75),
    ("NIFTY", date(2021, 7, 1), date(2024, 4, 25), 50),
    ("BANKNIFTY", date(2020, 8, 1), date(2023, 6, 30), 25),
    ("BANKNIFTY", date(2023, 7, 1), date(2024, 11, 19), 15),
    ("FINNIFTY", date(2021, 1, 11), date(2024, 11, 19), 40),
    ("MIDCPNIFTY", date(2022, 1, 24), date(2024, 4, 25), 75),
)


def historical_lot(symbol: str, day: date) -> int | None:
    return next((lot for s, a, b, lot in LOT_HISTORY if s == symbol and a <= day <= b), None)


class ConvertError(ValueError):
    """An input that cannot be converted: the message names the file and the problem."""

    def __init__(self, path: str | Path, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = str(path)
        self.problem = problem


@dataclass
class Snapshot:
    """One capture of one underlying: its contracts and one tick per leg at ``ts_ns``."""

    symbol: str
    ts_ns: int
    source: str
    instruments: list[Instrument]
    ticks: list[Tick]
    spot: float | None = None
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ConvertOptions:
    kind: str = "auto"
    symbol: str | None = None  # override / supply the underlying (Angel dumps)
    day: date | None = None  # market date when the source does not carry one (Angel dumps)
    lot_size: int | None = None  # override the lot size found in the data
    strike_divisor: float | None = None  # Angel dumps: None = auto (MIDCPNIFTY ×10 quirk)


# --------------------------------------------------------------------------- helpers


def _read_bytes(path: Path) -> bytes:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConvertError(path, f"cannot read ({exc.strerror or exc})") from None
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise ConvertError(path, f"corrupt gzip data ({exc})") from None
    return data


def detect_kind(data: bytes) -> str | None:
    """``nse-json``, ``udiff``, ``angel-chain``, ``tape`` or None, from the content alone."""
    head = data[:4096].lstrip()
    if head.startswith(b"{"):
        if b'"format"' in head[:200] and b"fo-tape" in head[:200]:
            return "tape"
        try:
            doc = orjson.loads(data)
        except orjson.JSONDecodeError:
            return None
        records = doc.get("records") if isinstance(doc, dict) else None
        if isinstance(records, dict) and isinstance(records.get("data"), list):
            return "nse-json"
        return None
    if head.startswith(b"TradDt,BizDt,"):
        return "udiff"
    lines = head.decode("utf-8", "replace").splitlines()
    if (
        len(lines) >= 2
        and re.fullmatch(r"\d{1,2}:\d{2}:\d{2}", lines[0].strip())
        and _ANGEL_ROW.match(lines[1].strip())
    ):
        return "angel-chain"
    return None


def _ns(moment: datetime) -> int:
    return int(moment.timestamp()) * 1_000_000_000 + moment.microsecond * 1_000


def _close_ns(day: date) -> int:
    return _ns(expiry_close(day))  # every trading day closes at 15:30 IST


def _price(value: Any) -> float | None:
    """A price in rupees; 0, negative, blank or non-numeric is "no price"."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) and x > 0 else None


def _qty(value: Any) -> int | None:
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return round(x) if math.isfinite(x) and x >= 0 else None


def _exchange(symbol: str) -> str:
    spec = INDICES.get(symbol)
    return spec.exchange if spec else "NFO"


def _option(
    token: str, symbol: str, expiry: date, strike: float, right: Right, lot: int
) -> Instrument:
    return Instrument(
        token=token,
        symbol=symbol,
        kind=InstrumentKind.OPTION,
        exchange=_exchange(symbol),
        trading_symbol=f"{symbol}{expiry:%d%b%y}{strike:g}{right.value}".upper(),
        lot_size=lot,
        tick_size=0.05,
        expiry=expiry,
        strike=strike,
        right=right,
    )


def _option_token(symbol: str, expiry: date, strike: float, right: Right) -> str:
    """Stable token for sources without exchange tokens: the same leg in two captures matches."""
    return f"{symbol}:{expiry:%Y%m%d}:{strike:g}:{right.value}"


def spot_token(symbol: str) -> str:
    return SPOT_TOKENS.get(symbol, f"{symbol}:SPOT")


def _gcd_lot(path: Path, quantities: list[float], override: int | None) -> int:
    if override:
        return override
    g = 0
    for q in quantities:
        if q and float(q).is_integer():
            g = math.gcd(g, int(q))
    if not g or g > 5_000:
        raise ConvertError(path, "cannot tell the lot size from the data; give --lot-size")
    return g


# --------------------------------------------------------------------------- NSE option chain


def _nse_time(path: Path, text: str) -> int:
    try:
        moment = datetime.strptime(text.strip(), "%d-%b-%Y %H:%M:%S").replace(tzinfo=IST)
    except ValueError:
        raise ConvertError(path, f"unreadable records.timestamp {text!r}") from None
    return _ns(moment)


def nse_option_chain(path: Path, doc: dict[str, Any], opts: ConvertOptions) -> Snapshot:
    """``option-chain-indices`` response (2020 layout, or 2022 with ``filtered``)."""
    records = doc["records"]
    rows = records["data"]
    try:
        ts = _nse_time(path, str(records["timestamp"]))
        spot = _price(records.get("underlyingValue"))
    except KeyError as exc:
        raise ConvertError(path, f"NSE option-chain JSON without records.{exc.args[0]}") from None
    symbols = {
        leg.get("underlying")
        for row in rows
        for leg in (row.get("CE"), row.get("PE"))
        if isinstance(leg, dict)
    }
    symbols.discard(None)
    symbol = opts.symbol or (symbols.pop() if len(symbols) == 1 else None)
    if symbol is None:
        raise ConvertError(path, f"cannot tell the underlying ({sorted(symbols)}); give --symbol")
    symbol = symbol.upper()
    quantities = [
        leg.get(k) or 0
        for row in rows
        for leg in (row.get("CE"), row.get("PE"))
        if isinstance(leg, dict)
        for k in ("bidQty", "askQty", "totalBuyQuantity", "totalSellQuantity")
    ]
    lot = _gcd_lot(path, quantities, opts.lot_size)
    instruments: list[Instrument] = []
    ticks: list[Tick] = []
    for row in rows:
        try:
            expiry = datetime.strptime(row["expiryDate"], "%d-%b-%Y").date()
            strike = float(row["strikePrice"])
        except (KeyError, TypeError, ValueError):
            raise ConvertError(
                path, f"row without a readable expiry/strike: {row!r:.120}"
            ) from None
        for right in (Right.CALL, Right.PUT):
            leg = row.get(right.value)
            if not isinstance(leg, dict):
                continue  # a missing leg is missing data: no instrument, no tick
            token = _option_token(symbol, expiry, strike, right)
            instruments.append(_option(token, symbol, expiry, strike, right, lot))
            ltp = _price(leg.get("lastPrice"))
            oi_contracts = leg.get("openInterest")
            oi = None if oi_contracts is None else _qty(float(oi_contracts) * lot)
            chg = leg.get("changeinOpenInterest")
            prev_oi = (
                _qty((float(oi_contracts) - float(chg)) * lot)
                if oi_contracts is not None and chg is not None
                else None
            )
            volume = leg.get("totalTradedVolume")
            change = leg.get("change")
            prev_close = _price(ltp - float(change)) if ltp and change is not None else None
            bid, ask = _price(leg.get("bidprice")), _price(leg.get("askPrice"))
            ticks.append(
                Tick(
                    token=token,
                    ts_event=ts,
                    ts_recv=ts,
                    ltp=ltp,
                    bid=bid,
                    ask=ask,
                    bid_qty=_qty(leg.get("bidQty")) if bid else None,  # NSE quotes these in shares
                    ask_qty=_qty(leg.get("askQty")) if ask else None,
                    volume=None if volume is None else _qty(float(volume) * lot),
                    oi=oi,
                    prev_close=prev_close,
                    prev_oi=prev_oi,
                )
            )
    if not instruments:
        raise ConvertError(path, "NSE option-chain JSON with no option legs")
    if spot is not None:
        ticks.insert(0, Tick(spot_token(symbol), ts, ts, ltp=spot))
    return Snapshot(symbol, ts, f"nse-option-chain:{path.name}", instruments, ticks, spot,
                    {"lot_size": lot})  # fmt: skip


# --------------------------------------------------------------------------- UDiFF bhavcopy


def udiff_bhavcopy(path: Path, text: str, opts: ConvertOptions) -> Snapshot:
    """NSE F&O bhavcopy in UDiFF format (one symbol's rows): the state at the close."""
    reader = csv.DictReader(io.StringIO(text))
    rows = [r for r in reader if r.get("FinInstrmTp") in ("IDO", "IDF")]
    if not rows:
        raise ConvertError(path, "UDiFF bhavcopy without index option/future rows (IDO/IDF)")
    symbols = {r["TckrSymb"] for r in rows}
    if opts.symbol:
        rows = [r for r in rows if r["TckrSymb"] == opts.symbol.upper()]
        symbols = {opts.symbol.upper()} if rows else set()
    if len(symbols) != 1:
        raise ConvertError(path, f"rows for {sorted(symbols) or 'no'} symbols; give --symbol")
    symbol = symbols.pop()
    try:
        day = date.fromisoformat(rows[0]["TradDt"])
    except ValueError:
        raise ConvertError(path, f"unreadable TradDt {rows[0]['TradDt']!r}") from None
    ts = _close_ns(day)
    instruments: list[Instrument] = []
    ticks: list[Tick] = []
    spot = _price(rows[0].get("UndrlygPric"))
    for r in rows:
        try:
            expiry = date.fromisoformat(r["XpryDt"])
            lot = opts.lot_size or int(float(r["NewBrdLotQty"]))
            token = str(r["FinInstrmId"]).strip()
        except (KeyError, TypeError, ValueError):
            raise ConvertError(
                path, f"row without expiry/lot/id: {r.get('FinInstrmNm')!r}"
            ) from None
        if r["FinInstrmTp"] == "IDF":
            instruments.append(
                Instrument(token, symbol, InstrumentKind.FUTURE, _exchange(symbol),
                           r.get("FinInstrmNm") or f"{symbol}{expiry:%y%b}FUT".upper(),
                           lot, 0.05, expiry)
            )  # fmt: skip
        else:
            try:
                strike = float(r["StrkPric"])
                right = Right(r["OptnTp"])
            except (KeyError, ValueError):
                raise ConvertError(
                    path, f"option row without strike/type: {r.get('FinInstrmNm')!r}"
                ) from None
            inst = _option(token, symbol, expiry, strike, right, lot)
            instruments.append(inst)
        oi = _qty(r.get("OpnIntrst"))
        try:
            prev_oi = None if oi is None else oi - round(float(r["ChngInOpnIntrst"]))
        except (KeyError, TypeError, ValueError):
            prev_oi = None
        contracts = _qty(r.get("TtlTradgVol"))
        ticks.append(
            Tick(
                token=token,
                ts_event=ts,
                ts_recv=ts,
                ltp=_price(r.get("LastPric")),
                volume=None if contracts is None else contracts * lot,
                oi=oi,
                prev_close=_price(r.get("PrvsClsgPric")),
                prev_oi=prev_oi if prev_oi is None or prev_oi >= 0 else None,
            )
        )
    if spot is not None:
        ticks.insert(0, Tick(spot_token(symbol), ts, ts, ltp=spot))
    return Snapshot(symbol, ts, f"nse-udiff-bhavcopy:{path.name}", instruments, ticks, spot)


# --------------------------------------------------------------------------- Angel chain dump


def angel_chain(path: Path, text: str, opts: ConvertOptions) -> Snapshot:
    """``expiry/ce_volume/ce_oi/ce_ltp/strike/pe_ltp/pe_oi/pe_volume`` lines (shares, rupees).

    The dump has no date, no underlying value and no symbol: the symbol and date come from
    the file name (``...-nifty-2023-02-17.txt``) or the options, and the time is the close.
    """
    name = path.name.lower()
    symbol = (opts.symbol or "").upper() or next(
        (s for s in sorted(INDICES, key=len, reverse=True) if f"-{s.lower()}-" in name), None
    )
    if not symbol:
        raise ConvertError(path, "cannot tell the underlying from the file name; give --symbol")
    day = opts.day
    if day is None:
        found = _DATE_IN_NAME.search(path.name)
        if not found:
            raise ConvertError(path, "the dump carries no date; give --date YYYY-MM-DD")
        day = date.fromisoformat(found.group(1))
    ts = _close_ns(day)
    parsed: list[tuple[date, float, list[float]]] = []
    for lineno, line in enumerate(text.splitlines()[1:], start=2):
        line = line.strip()
        if not line:
            continue
        if not _ANGEL_ROW.match(line):
            raise ConvertError(path, f"line {lineno}: not an Angel chain row: {line[:60]!r}")
        parts = line.split("/")
        try:
            expiry = datetime.strptime(parts[0].title(), "%d%b%Y").date()
        except ValueError:
            raise ConvertError(path, f"line {lineno}: unreadable expiry {parts[0]!r}") from None
        parsed.append((expiry, float(parts[4]), [0.0, *(float(x) for x in parts[1:])]))
    if not parsed:
        raise ConvertError(path, "Angel chain dump with no rows")
    divisor = opts.strike_divisor
    if divisor is None:
        # The dump's writer kept the first 5 characters of Angel's strike × 100, which turns
        # a 4-digit strike into ten times itself (8050 → 80500). MIDCPNIFTY has never traded
        # near 50,000, so such strikes there are the quirk (see PROVENANCE.md).
        strikes = sorted(k for _, k, _ in parsed)
        divisor = 10.0 if symbol == "MIDCPNIFTY" and strikes[len(strikes) // 2] > 30_000 else 1.0
    lot = opts.lot_size or historical_lot(symbol, day)
    if lot is None:
        raise ConvertError(path, f"no known {symbol} lot size for {day}; give --lot-size")
    instruments: list[Instrument] = []
    ticks: list[Tick] = []
    seen: set[str] = set()
    for expiry, raw_strike, p in parsed:
        strike = raw_strike / divisor
        legs = ((Right.CALL, p[3], p[2], p[1]), (Right.PUT, p[5], p[6], p[7]))
        for right, ltp, oi, volume in legs:
            token = _option_token(symbol, expiry, strike, right)
            if token in seen:
                raise ConvertError(path, f"duplicate leg {token}")
            seen.add(token)
            instruments.append(_option(token, symbol, expiry, strike, right, lot))
            ticks.append(Tick(token, ts, ts, ltp=_price(ltp), volume=_qty(volume), oi=_qty(oi)))
    return Snapshot(symbol, ts, f"angel-snapquote-chain:{path.name}", instruments, ticks, None,
                    {"lot_size": lot, "strike_divisor": divisor})  # fmt: skip


# --------------------------------------------------------------------------- driver


def convert_file(path: str | Path, opts: ConvertOptions | None = None) -> Snapshot:
    """One input file → one snapshot (the kind is detected unless ``opts.kind`` says)."""
    opts = opts or ConvertOptions()
    path = Path(path)
    data = _read_bytes(path)
    found = detect_kind(data)
    if opts.kind != "auto" and found != opts.kind:
        what = KIND_NAMES.get(found or "", "not a recognised input")
        raise ConvertError(path, f"expected {KIND_NAMES[opts.kind]}, but the file is {what}")
    if found is None:
        raise ConvertError(
            path, "not a recognised input (expected " + ", ".join(
                KIND_NAMES[k] for k in KINDS) + ")"
        )  # fmt: skip
    if found == "tape":
        raise ConvertError(path, "is already a tape; nothing to convert")
    try:
        if found == "nse-json":
            return nse_option_chain(path, orjson.loads(data), opts)
        text = data.decode("utf-8-sig")
        if found == "udiff":
            return udiff_bhavcopy(path, text, opts)
        return angel_chain(path, text, opts)
    except UnicodeDecodeError:
        raise ConvertError(path, "not UTF-8 text") from None


def snapshots_to_tape(
    snapshots: list[Snapshot], created_ns: int = 0
) -> tuple[TapeHeader, list[Batch]]:
    """Merge snapshots into one tape: instruments united per symbol, batches in time order."""
    if not snapshots:
        raise ValueError("no snapshots")
    per_symbol: dict[str, dict[str, Instrument]] = {}
    for snap in snapshots:
        known = per_symbol.setdefault(snap.symbol, {})
        for inst in snap.instruments:
            known.setdefault(inst.token, inst)
    sets = []
    for symbol, by_token in per_symbol.items():
        exchange = "BSE" if _exchange(symbol) == "BFO" else "NSE"
        spot = Instrument(spot_token(symbol), symbol, InstrumentKind.INDEX, exchange, symbol)
        sets.append(InstrumentSet(symbol, spot.token, "replay", (spot, *by_token.values())))
    ordered = sorted(enumerate(snapshots), key=lambda p: (p[1].ts_ns, p[0]))
    batches = [Batch(s.ts_ns, [t.to_wire() for t in s.ticks]) for _, s in ordered]
    header = TapeHeader(
        source=", ".join(dict.fromkeys(s.source for _, s in ordered)),
        instrument_sets=tuple(sets),
        created_ns=created_ns,
        meta={"snapshots": [{"symbol": s.symbol, "ts": s.ts_ns, "source": s.source,
                             "spot": s.spot, **s.meta} for _, s in ordered]},
    )  # fmt: skip
    return header, batches


__all__ = [
    "KINDS",
    "ConvertError",
    "ConvertOptions",
    "Snapshot",
    "angel_chain",
    "convert_file",
    "detect_kind",
    "nse_option_chain",
    "snapshots_to_tape",
    "udiff_bhavcopy",
]
