"""The database-fault harness: Topup's real processes on a private PostgreSQL that is
restarted under a stream of orders (``make db-faults``; a small run is a CI test)."""
