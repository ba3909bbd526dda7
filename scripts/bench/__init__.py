"""`make bench`: Topup's whole-service benchmark (README, "Speed")."""
