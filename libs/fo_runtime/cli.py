"""The common front of every service's ``main``: ``--check``, settings, logging."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TypeVar

from pydantic_settings import BaseSettings

from fo_runtime.logs import configure_logging
from fo_runtime.settings import load_settings

S = TypeVar("S", bound=BaseSettings)


def prepare(
    service: str,
    description: str | None,
    settings_class: type[S],
    describe: Callable[[S], str],
    argv: list[str] | None = None,
) -> S | None:
    """Parse the command line and load settings; None when ``--check`` has already answered."""
    parser = argparse.ArgumentParser(prog=f"fo-{service}", description=description)
    parser.add_argument("--check", action="store_true", help="validate settings and exit")
    args = parser.parse_args(argv)
    settings = load_settings(settings_class)
    if args.check:
        print(f"fo-{service} settings ok ({describe(settings)})")
        return None
    configure_logging(service, getattr(settings, "log_level", "INFO"))
    return settings
