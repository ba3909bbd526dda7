"""Number lookup: which country and operator a mobile number belongs to, and what it can buy."""
