"""Orders: a top-up bought, paid by a card hold, delivered, then captured or released."""
