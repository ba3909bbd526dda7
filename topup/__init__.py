"""Topup: international mobile top-up, paid in euros."""

__version__ = "0.1.0"
