"""The crash test ("chaos"): the API and two workers as real processes on a fresh
PostgreSQL database, a stream of orders over every simulator outcome and sandbox card,
processes killed with SIGKILL at random moments and at every named recovery point, and at
the end the money, the supplier's records and the messages checked against each other.

``python -m scripts.chaos --help`` (``make chaos`` for the larger run); the CI-sized run is
``tests/e2e/test_chaos.py`` (marker ``chaos``)."""
