"""E2E fixtures: a whole stack of real processes in a namespace of its own."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.e2e.stack import Stack


@pytest.fixture
def make_stack(redis_url: str, namespace: str, tmp_path: Path) -> Iterator[Callable[..., Stack]]:
    started: list[Stack] = []

    def make(**env: str) -> Stack:
        stack = Stack(redis_url, namespace, tmp_path / f"logs{len(started)}", dict(env))
        started.append(stack)
        return stack.start()

    yield make
    for stack in started:
        stack.kill()
