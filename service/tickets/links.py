"""Where a ticket lives: its page's path, and the absolute links that the API and emails give."""

from __future__ import annotations

from flask import current_app


def ticket_path(reference: str) -> str:
    """The ticket's page on this site: `/tickets/CR-000012`."""
    return f"/tickets/{reference}"


def base_url() -> str:
    return str(current_app.config["BASE_URL"])


def ticket_url(reference: str) -> str:
    """The ticket's page under `BASE_URL`, for the API's answers and the emails."""
    return f"{base_url()}{ticket_path(reference)}"


def saved_view_url(view_id: int) -> str:
    """The queue page showing a saved view."""
    return f"{base_url()}/tickets?view={view_id}"
