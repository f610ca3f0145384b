"""Paced replay: when each batch is due, and long gaps shortened."""

from __future__ import annotations

import pytest

from fo_feeds.player import MAX_GAP_S, schedule

S = 1_000_000_000


def test_batches_are_due_at_their_original_spacing_divided_by_speed() -> None:
    assert schedule([0, 1 * S, 3 * S], speed=1) == [0.0, 1.0, 3.0]
    assert schedule([0, 1 * S, 3 * S], speed=4) == pytest.approx([0.0, 0.25, 0.75])
    assert schedule([5 * S, 5 * S, 5 * S], speed=1) == [0.0, 0.0, 0.0]  # one instant


def test_gaps_between_sessions_are_shortened() -> None:
    two_days = 2 * 86_400 * S
    due = schedule([0, S, S + two_days, 2 * S + two_days], speed=1)
    assert due == pytest.approx([0.0, 1.0, 1.0 + MAX_GAP_S, 2.0 + MAX_GAP_S])
    assert MAX_GAP_S <= 10
