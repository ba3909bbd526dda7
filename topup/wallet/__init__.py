"""The customer wallet: a euro balance in the ledger, funded by card, spent on top-ups."""
