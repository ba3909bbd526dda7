"""The double-entry ledger: every movement of money, as immutable two-sided transfers."""
