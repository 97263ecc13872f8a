"""Every GET of the API answers outside a transaction on PostgreSQL (`@reads_only`).

Beyond the BEGIN and ROLLBACK round trips it saves, there is the plan cache. psycopg prepares a
statement on its 5th run on a connection, and PostgreSQL then keeps a generic plan of it where
that plan is as good as a fresh one. But psycopg forgets every prepared statement of a
connection on ROLLBACK, and a request in a transaction that only read ends with one. So each
such GET planned every one of its statements afresh, call after call: 0.3 to 0.4 ms for the
caller's session, 2 ms for the queue's page. A view that only reads is marked; the mark refuses
any write (`service/read_only.py`), and the route matrix runs every GET on PostgreSQL.
"""

from __future__ import annotations

from service.read_only import READS_ONLY
from tests.routes import routes

# GET routes of the API that read no database, and why.
WITHOUT_THE_DATABASE = {
    "/api/openapi.json": "the OpenAPI document, built from the schemas",
    "/api/docs": "Swagger UI's page",
    "/api/swagger-ui/<path:filename>": "Swagger UI's files",
}


def test_every_get_of_the_api_reads_outside_a_transaction(app):
    unmarked = [
        rule.rule
        for rule in routes(app, "GET")
        if rule.rule.startswith(("/api/", "/web/")) or rule.rule == "/metrics"
        if not getattr(app.view_functions[rule.endpoint], READS_ONLY, False)
        and rule.rule not in WITHOUT_THE_DATABASE
    ]
    assert unmarked == [], "mark these views @reads_only, or say why they may not be"


def test_the_list_of_routes_without_the_database_names_routes_that_exist(app):
    rules = {rule.rule for rule in routes(app, "GET")}
    assert set(WITHOUT_THE_DATABASE) <= rules
