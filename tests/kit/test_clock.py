"""The service's clock: moved forward by tests and the sandbox, and stopped by tests that
need a moment to last while work runs."""

from __future__ import annotations

from topup.kit import clock


def test_a_stopped_clock_moves_only_when_advanced_until_reset() -> None:
    try:
        stopped = clock.stop()
        assert clock.now() == stopped  # the wall clock no longer counts
        assert clock.advance(90) == clock.now()
        assert (clock.now() - stopped).total_seconds() == 90
        assert clock.stop() == clock.now()  # stopping again keeps where it is
    finally:
        clock.reset()
    assert clock.offset_seconds() == 0
