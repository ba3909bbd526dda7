"""Refunds: policies as data, refund requests, and paying them to the wallet or the card."""
