"""Health, the OpenAPI document, the docs page, and the uniform error body."""

from __future__ import annotations

CONTRACT_PATHS = {
    "/api/auth/token": {"post"},
    "/api/roles": {"get"},
    "/api/orgs/{slug}/contacts": {"get"},
    "/api/orgs/{slug}/change-requests": {"post"},
    "/api/orgs/{slug}/change-requests/validate": {"post"},
    "/api/me": {"get"},
}


def test_healthz_reports_database_and_queue(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"database": "ok", "queue": "ok"}


def test_healthz_names_the_queue_when_redis_is_unreachable(app, client):
    previous = app.config["REDIS_URL"]
    app.config["REDIS_URL"] = "redis://127.0.0.1:1/0"
    try:
        response = client.get("/healthz")
    finally:
        app.config["REDIS_URL"] = previous
    assert response.status_code == 503
    body = response.get_json()
    assert body["queue"] == "down" and body["database"] == "ok"
    assert body["code"] == "service_unavailable"


def test_openapi_describes_every_contract_endpoint(client):
    spec = client.get("/api/openapi.json").get_json()
    for path, methods in CONTRACT_PATHS.items():
        assert path in spec["paths"], path
        assert methods <= set(spec["paths"][path]), path
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert "ChangeRequestIn" in spec["components"]["schemas"]


def test_docs_page_is_served_with_local_assets(client):
    page = client.get("/api/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "/api/swagger-ui/swagger-ui-bundle.js" in html
    assert client.get("/api/swagger-ui/swagger-ui-bundle.js").status_code == 200


def test_unknown_route_and_wrong_method_have_the_contract_body(client):
    missing = client.get("/api/nothing-here")
    assert missing.status_code == 404
    assert missing.get_json()["code"] == "not_found"
    wrong = client.put("/api/auth/token")
    assert wrong.status_code == 405
    assert set(wrong.get_json()) == {"code", "message", "errors"}
