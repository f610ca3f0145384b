"""``python -m fo_worker``: run the worker; ``--check`` exits 0 when the settings load."""

from __future__ import annotations

import functools

from fo_runtime.cli import prepare
from fo_runtime.lifecycle import run_service
from fo_worker.service import run
from fo_worker.settings import WorkerSettings


def main(argv: list[str] | None = None) -> int:
    settings = prepare("worker", __doc__, WorkerSettings, lambda s: f"symbols={s.symbols}", argv)
    if settings is None:
        return 0
    return run_service(functools.partial(run, settings))


if __name__ == "__main__":
    raise SystemExit(main())
