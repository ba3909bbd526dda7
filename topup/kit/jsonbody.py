"""JSON answers rendered once to bytes, with the ETag that lets clients revalidate them."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import orjson


@dataclass(frozen=True, slots=True)
class RenderedBody:
    content: bytes
    etag: str

    @classmethod
    def of(cls, payload: Any) -> RenderedBody:
        content = orjson.dumps(payload)
        return cls(content, '"' + hashlib.blake2b(content, digest_size=12).hexdigest() + '"')
