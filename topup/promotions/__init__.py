"""Promo codes: discounts a customer types at checkout, reserved with the order."""
