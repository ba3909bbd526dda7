"""Shared building blocks every domain uses: money, errors, the clock, the database."""
