"""Suppliers deliver the top-up to the mobile operator; they also know who owns a number."""
