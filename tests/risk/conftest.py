"""The risk tests' fixture, ``risky``, lives in tests/fixtures/risky.py (registered for
every test in tests/conftest.py, since the admin API's tests use it too)."""

from __future__ import annotations

from tests.fixtures.risky import Risky

__all__ = ["Risky"]
