"""Auto top-up: recurring top-ups of a recipient, paid with a saved card."""
