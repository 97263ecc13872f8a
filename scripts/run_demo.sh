#!/usr/bin/env bash
# The one-command demo: SQLite in the instance folder, jobs run in-process, demo data loaded.
set -euo pipefail
cd "$(dirname "$0")/.."

unset REDIS_URL DATABASE_URL
export FLASK_APP=service
# Readable log lines for a person at a terminal; production writes JSON.
export LOG_FORMAT="${LOG_FORMAT:-text}"
flask db upgrade
flask seed-demo
cat <<MSG

Rolegate demo on http://127.0.0.1:5000  (API docs: http://127.0.0.1:5000/api/docs)
Sign in with any of these; the password is "${DEMO_PASSWORD:-demo-password}":
  admin@acme.example     customer admin of acme
  admin@buyco.example    admin of the purchaser buyco
  staff@vendor.example   vendor staff
  staff2@vendor.example  vendor staff (second approver)

MSG
exec flask run --host 127.0.0.1 --port 5000
