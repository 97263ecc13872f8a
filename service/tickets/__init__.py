"""The generic ticket workflow around a change request: status, events, queue."""
