"""`GET /healthz` and the offline Swagger UI assets: infrastructure endpoints, no domain."""

from __future__ import annotations

from flask import Blueprint, jsonify, send_from_directory
from sqlalchemy import text
from swagger_ui_bundle import swagger_ui_path

from service.extensions import db, redis_connection

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """200 when the database and the queue answer; 503 naming what is down."""
    status = {"database": "ok", "queue": "ok"}
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:
        db.session.rollback()
        status["database"] = "down"
    try:
        connection = redis_connection()
        if connection is not None:
            connection.ping()
    except Exception:
        status["queue"] = "down"
    down = [name for name, state in status.items() if state != "ok"]
    if not down:
        return jsonify(status)
    body = {
        "code": "service_unavailable",
        "message": f"Not available: {', '.join(down)}.",
        "errors": [],
        **status,
    }
    return jsonify(body), 503


@bp.get("/api/swagger-ui/<path:filename>")
def swagger_ui_asset(filename: str):
    """Swagger UI's JavaScript and CSS from the installed package, so /api/docs works offline."""
    return send_from_directory(swagger_ui_path, filename)
