"""``fo-tape``: record the live tick streams, play a tape into Redis, convert real data to tapes.

Examples::

    fo-tape convert ../shared/data/real/nse-oc-nifty-2022-03-28T104719.json -o nifty.tape.gz
    fo-tape play nifty.tape.gz --fast            # as fast as possible
    fo-tape play sim.tape.gz --speed 10 --loop   # ten times the original pace, forever
    fo-tape record --symbols NIFTY --duration 60 -o sim.tape.gz
    fo-tape info nifty.tape.gz

Redis and the namespace come from REDIS_URL and FO_NAMESPACE unless given. Errors are one
line on stderr naming the file and the problem, with a non-zero exit; a tape is validated in
full before anything is written to Redis.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from datetime import date, datetime
from pathlib import Path
from types import FrameType

import redis

from fo_bus.names import DEFAULT_NAMESPACE, BusNames
from fo_feeds.convert import KINDS, ConvertError, ConvertOptions, convert_file, snapshots_to_tape
from fo_feeds.player import RecordError, play, record
from fo_feeds.progress import Progress
from fo_feeds.tape import TapeError, check_tape, load_tape, write_tape
from fo_instruments.calendar import IST

PROG = "fo-tape"


class _Stop:
    """SIGINT/SIGTERM ask the running command to finish cleanly (a tape is still closed)."""

    def __init__(self) -> None:
        self.requested = False

    def __call__(self) -> bool:
        return self.requested

    def install(self) -> None:
        def handler(signum: int, frame: FrameType | None) -> None:
            if self.requested:
                raise KeyboardInterrupt
            self.requested = True

        signal.signal(signal.SIGINT, handler)
        signal.signal(signal.SIGTERM, handler)


def _redis_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
        help="Redis of the bus (default: $REDIS_URL or redis://127.0.0.1:6379/0)",
    )
    parser.add_argument(
        "--namespace",
        default=os.environ.get("FO_NAMESPACE", DEFAULT_NAMESPACE),
        help="prefix of every Redis name (default: $FO_NAMESPACE or 'fo')",
    )


def _progress_args(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--progress", action="store_true", default=None, help="always draw the progress bar"
    )
    group.add_argument(
        "--quiet", action="store_true", help="no progress bar (default: bar when on a terminal)"
    )


def _progress_enabled(args: argparse.Namespace) -> bool | None:
    if args.quiet:
        return False
    return True if args.progress else None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    rec = sub.add_parser(
        "record",
        help="record the live Redis tick streams into a tape",
        description="Record the tick streams of some symbols into a tape, for a duration, a "
        "tick count, or until Ctrl-C (the tape is closed properly in every case).",
    )
    rec.add_argument("-o", "--out", required=True, type=Path, help="tape file to write")
    rec.add_argument(
        "--symbols",
        default=os.environ.get("SYMBOLS", "NIFTY,BANKNIFTY"),
        help="comma-separated symbols (default: $SYMBOLS or NIFTY,BANKNIFTY)",
    )
    rec.add_argument("--duration", type=float, help="stop after this many seconds")
    rec.add_argument("--count", type=int, help="stop after this many ticks")
    rec.add_argument(
        "--idle-timeout", type=float, help="stop after this many seconds without a new entry"
    )
    rec.add_argument(
        "--from-start",
        action="store_true",
        help="record what the streams already hold too (default: only new entries)",
    )
    _redis_args(rec)
    _progress_args(rec)

    ply = sub.add_parser(
        "play",
        help="play a tape into the Redis tick streams",
        description="Validate a tape in full, publish its instruments, then append its ticks to "
        "the tick streams: at the original pace (default), at N× speed, or as fast as possible.",
    )
    ply.add_argument("tape", type=Path, help="tape file (.tape.gz)")
    pace = ply.add_mutually_exclusive_group()
    pace.add_argument(
        "--speed", type=float, default=1.0, help="multiple of the original pace (default 1)"
    )
    pace.add_argument("--fast", action="store_true", help="as fast as possible")
    ply.add_argument("--loop", action="store_true", help="start over at the end, until Ctrl-C")
    ply.add_argument(
        "--maxlen", type=int, default=100_000, help="approximate entries kept per stream"
    )
    ply.add_argument(
        "--entry-ticks", type=int, default=1_000, help="ticks per stream entry when fast"
    )
    _redis_args(ply)
    _progress_args(ply)

    conv = sub.add_parser(
        "convert",
        help="convert real market data files into a tape",
        description="Convert NSE option-chain JSON (2020/2022 layouts), NSE UDiFF F&O bhavcopy "
        "CSV or Angel SnapQuote chain dumps (gzip accepted) into one tape. Each file is one "
        "snapshot (one tick per leg at its market time); several files make a multi-step tape "
        "in time order. Units become shares and rupees; zero prices are left out as missing.",
    )
    conv.add_argument("inputs", nargs="+", type=Path, help="input files")
    conv.add_argument("-o", "--out", required=True, type=Path, help="tape file to write")
    conv.add_argument(
        "--kind", choices=("auto", *KINDS), default="auto", help="input kind (default: detect)"
    )
    conv.add_argument("--symbol", help="underlying, when the input does not say (Angel dumps)")
    conv.add_argument(
        "--date", type=date.fromisoformat, help="market date YYYY-MM-DD (Angel dumps)"
    )
    conv.add_argument("--lot-size", type=int, help="lot size in shares, overriding the data")
    conv.add_argument(
        "--strike-divisor",
        type=float,
        help="divide the strikes of Angel dumps by this (default: fix the MIDCPNIFTY ×10 quirk)",
    )

    info = sub.add_parser(
        "info",
        help="validate a tape and describe it",
        description="Validate a tape in full and print its header and size.",
    )
    info.add_argument("tape", type=Path, help="tape file (.tape.gz)")
    return parser


def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_connect_timeout=5)


def cmd_play(args: argparse.Namespace, stop: _Stop) -> int:
    tape = load_tape(args.tape)  # everything is validated before the first write
    client = _client(args.redis_url)
    client.ping()
    speed = None if args.fast else args.speed
    if speed is not None and speed <= 0:
        raise SystemExit(f"{PROG}: --speed must be positive (use --fast for no pacing)")
    progress = Progress(
        None if args.loop else tape.tick_count, label="play", enabled=_progress_enabled(args)
    )
    stats = play(
        tape,
        client,
        BusNames(args.namespace),
        speed=speed,
        loop=args.loop,
        maxlen=args.maxlen,
        entry_ticks=args.entry_ticks,
        progress=progress,
        should_stop=stop,
    )
    progress.close()
    print(
        f"played {stats.ticks:,} ticks in {stats.entries:,} entries ({stats.rounds} round(s)) "
        f"in {stats.seconds:.2f}s = {stats.ticks_per_s:,.0f} ticks/s",
        file=sys.stderr,
    )
    return 0


def cmd_record(args: argparse.Namespace, stop: _Stop) -> int:
    symbols = [s.strip().upper() for s in args.symbols.split(",") if s.strip()]
    client = _client(args.redis_url)
    client.ping()
    progress = Progress(args.count, label="record", enabled=_progress_enabled(args))
    stats = record(
        client,
        BusNames(args.namespace),
        symbols,
        args.out,
        duration=args.duration,
        count=args.count,
        from_start=args.from_start,
        idle_timeout=args.idle_timeout,
        progress=progress,
        should_stop=stop,
    )
    progress.close()
    print(
        f"recorded {stats.ticks:,} ticks in {stats.batches:,} batches to {args.out} "
        f"({stats.bad_entries} bad entries skipped)",
        file=sys.stderr,
    )
    return 0


def cmd_convert(args: argparse.Namespace) -> int:
    opts = ConvertOptions(
        kind=args.kind,
        symbol=args.symbol,
        day=args.date,
        lot_size=args.lot_size,
        strike_divisor=args.strike_divisor,
    )
    snapshots = [convert_file(path, opts) for path in args.inputs]
    header, batches = snapshots_to_tape(snapshots, created_ns=time.time_ns())
    write_tape(args.out, header, batches)
    for snap in snapshots:
        when = datetime.fromtimestamp(snap.ts_ns / 1e9, IST).strftime("%Y-%m-%d %H:%M:%S IST")
        print(
            f"{snap.source}: {snap.symbol} at {when}, {len(snap.ticks):,} ticks, spot {snap.spot}",
            file=sys.stderr,
        )
    print(f"wrote {args.out} ({len(batches)} batch(es))", file=sys.stderr)
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    header, batches, ticks = check_tape(args.tape)
    print(f"{args.tape}: fo-tape schema {header.schema}, source {header.source}")
    for inst_set in header.instrument_sets:
        expiries = ", ".join(e.isoformat() for e in inst_set.expiries())
        print(f"  {inst_set.symbol}: {len(inst_set.instruments)} instruments; expiries {expiries}")
    print(f"  {batches:,} batches, {ticks:,} ticks")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    stop = _Stop()
    stop.install()
    try:
        if args.command == "play":
            return cmd_play(args, stop)
        if args.command == "record":
            return cmd_record(args, stop)
        if args.command == "convert":
            return cmd_convert(args)
        return cmd_info(args)
    except (TapeError, ConvertError, RecordError) as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 1
    except redis.RedisError as exc:
        print(f"{PROG}: redis at {args.redis_url}: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"{PROG}: {exc.filename or ''}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
