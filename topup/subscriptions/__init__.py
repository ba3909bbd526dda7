"""Monthly plans: subscriptions billed on the 1st of each month, each charge an order."""
