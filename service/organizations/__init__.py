"""Organizations, their plans and the delegations they grant."""
