"""Maintenance scripts (run with the project's interpreter, e.g. `.venv/bin/python scripts/...`)."""
