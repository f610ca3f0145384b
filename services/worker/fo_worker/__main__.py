"""``python -m fo_worker``: run the worker; ``--check`` exits 0 when the settings load."""

from __future__ import annotations

import argparse
import functools

from fo_runtime.lifecycle import run_service
from fo_runtime.logs import configure_logging
from fo_runtime.settings import load_settings
from fo_worker.service import run
from fo_worker.settings import WorkerSettings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fo-worker", description=__doc__)
    parser.add_argument("--check", action="store_true", help="validate settings and exit")
    args = parser.parse_args(argv)
    settings = load_settings(WorkerSettings)
    if args.check:
        print(f"fo-worker settings ok (symbols={settings.symbols})")
        return 0
    configure_logging("worker", settings.log_level)
    return run_service(functools.partial(run, settings))


if __name__ == "__main__":
    raise SystemExit(main())
