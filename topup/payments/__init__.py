"""Payments: saved cards now; authorizations, captures and refunds with orders."""
