"""Card payments: the gateway port and its adapters (the sandbox today)."""
