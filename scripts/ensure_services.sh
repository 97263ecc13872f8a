#!/usr/bin/env bash
# Make sure the PostgreSQL and Redis that the test suite uses are up; start them if not.
# Fails with a clear message when a server is not installed: the suite never skips them.
set -euo pipefail

pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
redis_up() { redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; }

if ! pg_up; then
    if ! command -v pg_ctlcluster >/dev/null || [ -z "$(ls /etc/postgresql 2>/dev/null)" ]; then
        echo "PostgreSQL is not running on 127.0.0.1:5432 and is not installed here." >&2
        echo "Install it (Debian: apt-get install postgresql) or start it, then run make test again." >&2
        exit 1
    fi
    echo "Starting PostgreSQL..."
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start
    for _ in $(seq 1 30); do pg_up && break; sleep 1; done
    pg_up || { echo "PostgreSQL did not come up on 127.0.0.1:5432." >&2; exit 1; }
fi

if ! psql -h 127.0.0.1 -U "${PGUSER:-postgres}" -d test -Atc 'select 1' >/dev/null 2>&1 \
    && ! psql -h 127.0.0.1 -d test -Atc 'select 1' >/dev/null 2>&1; then
    createdb -h 127.0.0.1 test 2>/dev/null || createdb -h 127.0.0.1 -U postgres test
fi

if ! redis_up; then
    if ! command -v redis-server >/dev/null; then
        echo "Redis is not running on 127.0.0.1:6379 and is not installed here." >&2
        echo "Install it (Debian: apt-get install redis-server) or start it, then run make test again." >&2
        exit 1
    fi
    echo "Starting Redis..."
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
    for _ in $(seq 1 30); do redis_up && break; sleep 0.5; done
    redis_up || { echo "Redis did not come up on 127.0.0.1:6379." >&2; exit 1; }
fi
