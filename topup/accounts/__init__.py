"""Customer accounts: sign-up, phone verification, sessions, password reset, deletion."""
