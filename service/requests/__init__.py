"""Change requests: a batch of contact and role changes, validated and stored."""
