"""Identifiers: a short type prefix and 128 random bits, e.g. ``cus_3f2a…``.

The prefix tells a support agent at a glance what an id names; the random part cannot be
guessed, so an id in a URL reveals nothing about how many customers or orders exist.
"""

from __future__ import annotations

import uuid


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"
