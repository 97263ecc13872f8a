"""User accounts, hashed passwords and bearer tokens, sign-in."""
