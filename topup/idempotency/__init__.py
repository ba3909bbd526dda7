"""Idempotency keys: a retried POST replays its first answer instead of acting twice."""
