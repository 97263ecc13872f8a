"""The role catalog and the organization roster."""
