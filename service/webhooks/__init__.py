"""Signed webhooks: endpoints staff register, the events recorded with the changes that cause
them, and their deliveries (Standard Webhooks signatures, retries, replay)."""
