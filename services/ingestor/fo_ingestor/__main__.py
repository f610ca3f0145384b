"""``python -m fo_ingestor``: run the ingestor; ``--check`` exits 0 when the settings load."""

from __future__ import annotations

import functools

from fo_ingestor.service import run
from fo_ingestor.settings import IngestorSettings
from fo_runtime.cli import prepare
from fo_runtime.lifecycle import run_service


def main(argv: list[str] | None = None) -> int:
    settings = prepare(
        "ingestor", __doc__, IngestorSettings, lambda s: f"feed={s.feed}, symbols={s.symbols}", argv
    )
    if settings is None:
        return 0
    return run_service(functools.partial(run, settings))


if __name__ == "__main__":
    raise SystemExit(main())
