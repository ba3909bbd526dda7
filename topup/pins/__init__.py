"""PIN products (vouchers and calling cards): the PIN kept sealed, shown to its buyer."""
