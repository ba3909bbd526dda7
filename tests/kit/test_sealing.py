"""Sealing: what is sealed opens only with the same key, purpose and row, and every seal of
the same value differs (a random nonce each time)."""

from __future__ import annotations

import pytest

from topup.kit.sealing import SealBroken, Sealer

KEY = "a-secret-key-of-at-least-thirty-two-characters"


def test_a_sealed_value_opens_for_its_own_row_only() -> None:
    sealer = Sealer(KEY, "order-pins")

    sealed = sealer.seal("1234567890123456", bound_to="ord_1")

    assert b"1234567890123456" not in sealed
    assert sealer.open(sealed, bound_to="ord_1") == "1234567890123456"
    with pytest.raises(SealBroken):
        sealer.open(sealed, bound_to="ord_2")  # copied into another row


def test_another_key_or_purpose_opens_nothing() -> None:
    sealed = Sealer(KEY, "order-pins").seal("1234", bound_to="ord_1")

    for other in (Sealer(KEY + "x", "order-pins"), Sealer(KEY, "simulator-pins")):
        with pytest.raises(SealBroken) as broken:
            other.open(sealed, bound_to="ord_1")
        assert "1234" not in str(broken.value)


def test_the_same_value_sealed_twice_looks_different_and_an_altered_seal_is_refused() -> None:
    sealer = Sealer(KEY, "order-pins")
    first, second = (sealer.seal("1234", bound_to="ord_1") for _ in range(2))

    assert first != second
    altered = first[:-1] + bytes([first[-1] ^ 1])
    with pytest.raises(SealBroken):
        sealer.open(altered, bound_to="ord_1")
    with pytest.raises(SealBroken):
        sealer.open(b"\x02" + first[1:], bound_to="ord_1")  # an unknown version
    assert KEY not in repr(sealer)
