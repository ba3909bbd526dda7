"""Messages to customers and recipients: SMS and email, written to an outbox first."""
