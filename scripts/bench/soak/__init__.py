"""``make soak``: Topup served as in production for minutes on end at half its measured
maximum, with zero errors, flat memory and a flat p99 as the verdicts."""
