"""After the soak: the invariants, checked from the database, Redis and the SMTP server's log,
and the figures, from the same sources and the load's own record of every answer.

Only plain SQL on columns every version of the schema has, so that the same checks judge the
code before and after a change.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import psycopg
from redis import Redis

from harness.redis import dump_keys
from soak.load import Call, Ledger

_EMAIL_ID = re.compile(r"\.email-(\d+)@")
# The roster's counts as its contacts give them (a schema that keeps them has `roster_counts`):
# per organization, listed contacts by status, and by status and role.
RECOUNT = (
    "SELECT counted.organization_id, counted.status, counted.role_code, counted.n FROM ("
    "  SELECT organization_id, status, '' AS role_code, count(*) AS n FROM contacts"
    "  WHERE status <> 'archived' GROUP BY organization_id, status"
    "  UNION ALL"
    "  SELECT c.organization_id, c.status, r.role_code, count(*) FROM contacts c"
    "  JOIN contact_roles r ON r.contact_id = c.id WHERE c.status <> 'archived'"
    "  GROUP BY c.organization_id, c.status, r.role_code) counted "
)


@dataclass
class Fault:
    kind: str
    started: float
    lifted: float


@dataclass
class Report:
    """Every invariant with what broke it (empty when it held), and the figures."""

    invariants: dict[str, list[str]] = field(default_factory=dict)
    figures: list[str] = field(default_factory=list)

    @property
    def held(self) -> bool:
        return not any(self.invariants.values())

    def text(self) -> str:
        lines = ["", "Invariants"]
        for name, broken in self.invariants.items():
            verdict = "held" if not broken else f"BROKEN ({len(broken)})"
            lines.append(f"  {name}: {verdict}")
            lines.extend(f"      {detail}" for detail in broken[:10])
        lines += ["", "Figures", *(f"  {line}" for line in self.figures)]
        return "\n".join(lines)


def check(
    *,
    database: str,
    redis: Redis,
    smtp_log: list[dict[str, Any]],
    ledger: Ledger,
    faults: list[Fault],
    backlog: list[tuple[float, int]],
) -> Report:
    report = Report()
    with psycopg.connect(database, autocommit=True) as connection:
        report.invariants["no ticket stuck in approved or applying"] = _stuck(connection)
        report.invariants["no batch applied twice"] = _applied_twice(connection)
        report.invariants["every email delivered once, or failed and counted"] = _emails(
            connection, smtp_log, report
        )
        report.invariants["counters (tickets, roster) equal a recount"] = _counters(connection)
        report.invariants["no personal data of deleted contacts anywhere"] = _personal_data(
            connection, redis, ledger
        )
        report.invariants["never a 500, never an answer without the error body"] = _answers(
            ledger.calls
        )
        _ticket_figures(connection, ledger, report)
        _recovery(connection, faults, report)
    _answer_figures(ledger.calls, report)
    if backlog:
        peak = max(count for _, count in backlog)
        report.figures.append(
            f"email backlog (pending emails, sampled each second): peak {peak}, "
            f"at the end {backlog[-1][1]}"
        )
    return report


def _rows(connection: psycopg.Connection[Any], sql: str, *args: Any) -> list[Any]:
    return list(connection.execute(sql, args).fetchall())


def _stuck(connection: psycopg.Connection[Any]) -> list[str]:
    return [
        f"ticket {tid} is {status}"
        for tid, status in _rows(
            connection,
            "SELECT id, status FROM tickets WHERE status IN ('approved', 'applying') ORDER BY id",
        )
    ]


def _applied_twice(connection: psycopg.Connection[Any]) -> list[str]:
    broken = [
        f"ticket {tid}: {n} `{action}` events"
        for tid, action, n in _rows(
            connection,
            "SELECT ticket_id, action, count(*) FROM ticket_events "
            "WHERE action IN ('implemented', 'apply_started') "
            "GROUP BY ticket_id, action HAVING count(*) > 1",
        )
    ]
    # Each apply moves its organization's roster version once, and nothing else does.
    broken += [
        f"organization {slug}: roster version {version}, {applied} batches applied"
        for slug, version, applied in _rows(
            connection,
            "SELECT o.slug, o.roster_version, count(t.id) FROM organizations o "
            "LEFT JOIN tickets t ON t.organization_id = o.id AND t.status = 'implemented' "
            "GROUP BY o.id HAVING o.roster_version <> 1 + count(t.id)",
        )
    ]
    broken += [
        f"organization {org}: {n} active contacts with the address {address}"
        for org, address, n in _rows(
            connection,
            "SELECT organization_id, lower(email), count(*) FROM contacts "
            "WHERE email IS NOT NULL AND status <> 'archived' "
            "GROUP BY organization_id, lower(email) HAVING count(*) > 1",
        )
    ]
    return broken


def _emails(
    connection: psycopg.Connection[Any], smtp_log: list[dict[str, Any]], report: Report
) -> list[str]:
    rows = {
        email_id: (status, attempts)
        for email_id, status, attempts in _rows(
            connection, "SELECT id, status, attempts FROM emails"
        )
    }
    copies: Counter[int] = Counter()
    message_ids: dict[int, set[str]] = {}
    for record in smtp_log:
        found = _EMAIL_ID.search(record.get("message_id") or "")
        if found is None:
            continue
        email_id = int(found.group(1))
        copies[email_id] += 1
        message_ids.setdefault(email_id, set()).add(record["message_id"])
    statuses = Counter(status for status, _ in rows.values())
    broken = [
        f"email {email_id} is still pending (attempt {attempts})"
        for email_id, (status, attempts) in sorted(rows.items())
        if status == "pending"
    ]
    broken += [
        f"email {email_id} is marked sent but never reached the server"
        for email_id, (status, _) in sorted(rows.items())
        if status == "sent" and email_id not in copies
    ]
    broken += [
        f"email {email_id} reached the server as {len(ids)} different messages"
        for email_id, ids in sorted(message_ids.items())
        if len(ids) > 1
    ]
    folded = sum(n - 1 for email_id, n in copies.items() if len(message_ids[email_id]) == 1)
    report.figures.append(
        f"emails: {len(rows)} recorded, {statuses['sent']} sent, {statuses['failed']} failed "
        f"(given up, counted), {statuses['erased']} erased by a purge before sending; "
        f"{len(smtp_log)} messages reached the SMTP server, {folded} of them a second copy "
        f"under the same Message-ID (folded by mail clients); "
        f"{sum(1 for c in copies.values() if c > 1)} emails arrived more than once"
    )
    return broken


def has_roster_counts(connection: psycopg.Connection[Any]) -> bool:
    found = connection.execute("SELECT to_regclass('public.roster_counts')").fetchone()
    return bool(found and found[0])


def _counters(connection: psycopg.Connection[Any]) -> list[str]:
    broken = _ticket_counters(connection)
    if has_roster_counts(connection):
        broken += [
            f"organization {org} contacts {status} {role or '(all)'}: "
            f"counted {stored}, recounted {recounted}"
            for org, status, role, stored, recounted in _rows(
                connection,
                "SELECT coalesce(c.organization_id, s.organization_id), "
                "coalesce(c.status, s.status), coalesce(c.role_code, s.role_code), "
                "coalesce(s.n, 0), coalesce(c.n, 0) "
                f"FROM ({RECOUNT}) c FULL JOIN (SELECT * FROM roster_counts WHERE n <> 0) s "
                "ON s.organization_id = c.organization_id AND s.status = c.status "
                "AND s.role_code = c.role_code WHERE coalesce(s.n, 0) <> coalesce(c.n, 0)",
            )
        ]
    return broken


def _ticket_counters(connection: psycopg.Connection[Any]) -> list[str]:
    return [
        f"organization {org} {kind} {status}: counted {counted}, recounted {recounted}"
        for org, kind, status, counted, recounted in _rows(
            connection,
            "SELECT coalesce(c.organization_id, r.organization_id), coalesce(c.kind, r.kind), "
            "coalesce(c.status, r.status), coalesce(c.n, 0), coalesce(r.n, 0) "
            "FROM ticket_status_counts c FULL JOIN ("
            "  SELECT organization_id, kind, status, count(*) AS n FROM tickets "
            "  GROUP BY organization_id, kind, status) r "
            "ON r.organization_id = c.organization_id AND r.kind = c.kind "
            "AND r.status = c.status "
            "WHERE coalesce(c.n, 0) <> coalesce(r.n, 0)",
        )
    ]


def _personal_data(connection: psycopg.Connection[Any], redis: Redis, ledger: Ledger) -> list[str]:
    archived = {
        contact_id
        for (contact_id,) in _rows(
            connection,
            "SELECT id FROM contacts WHERE status = 'archived' AND id = ANY(%s)",
            list(ledger.deleted),
        )
    }
    canaries = {
        value.lower(): contact_id
        for contact_id in archived
        for key, value in ledger.deleted[contact_id].items()
        if key in ("first_name", "last_name", "email", "phone") and value
    }
    if not canaries:
        return []
    chunks: list[str] = []
    tables = [
        name
        for (name,) in _rows(
            connection,
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'",
        )
    ]
    for table in tables:
        chunks.extend(repr(row) for row in _rows(connection, f'SELECT * FROM "{table}"'))
    chunks.extend(dump_keys(redis))
    everything = "\n".join(chunks).lower()
    return [
        f"a value of deleted contact {contact_id} is still stored"
        for value, contact_id in canaries.items()
        if value in everything
    ]


def _answers(calls: list[Call]) -> list[str]:
    bad = Counter(
        (call.route, call.status, call.code)
        for call in calls
        if call.status == 500 or (call.status >= 500 and call.code == "no_body")
    )
    return [f"{route}: {status} {code} x{n}" for (route, status, code), n in bad.most_common()]


def _answer_figures(calls: list[Call], report: Report) -> None:
    answered = [call for call in calls if call.route != "load"]
    classes = Counter(f"{call.status // 100}xx" if call.status else "none" for call in answered)
    report.figures.append(
        f"requests: {len(answered)} ("
        + ", ".join(f"{name} {n}" for name, n in sorted(classes.items()))
        + ")"
    )
    causes = Counter(
        (call.status or "no answer", call.code)
        for call in answered
        if call.status >= 500 or call.status == 0
    )
    if causes:
        report.figures.append(
            "5xx and unanswered by cause: "
            + ", ".join(f"{status} {code}: {n}" for (status, code), n in causes.most_common())
        )
    else:
        report.figures.append("5xx and unanswered by cause: none")
    errors = Counter(call.code for call in calls if call.route == "load")
    if errors:
        report.figures.append(f"load errors (the client's own): {dict(errors)}")


def _ticket_figures(connection: psycopg.Connection[Any], ledger: Ledger, report: Report) -> None:
    statuses = dict(_rows(connection, "SELECT status, count(*) FROM tickets GROUP BY status"))
    report.figures.append(
        f"tickets: {ledger.submitted} submitted by the load; "
        + ", ".join(f"{status} {n}" for status, n in sorted(statuses.items()))
    )
    failures = _rows(
        connection,
        "SELECT failure_code, count(*) FROM tickets WHERE status = 'failed' GROUP BY failure_code",
    )
    if failures:
        report.figures.append(
            "failed tickets by code: " + ", ".join(f"{code}: {n}" for code, n in failures)
        )


def _recovery(connection: psycopg.Connection[Any], faults: list[Fault], report: Report) -> None:
    """Per fault, how long after it began the work waiting when it ended was done: the last
    ticket approved before the end applied (or failed), the last email recorded before the end
    sent (or given up)."""
    if not faults:
        return
    report.figures.append("faults (seconds from the fault to the catch-up of tickets / emails):")
    for fault in faults:
        tickets = connection.execute(
            "SELECT max(done.at) FROM ticket_events approved "
            "JOIN ticket_events done ON done.ticket_id = approved.ticket_id "
            "AND done.action IN ('implemented', 'apply_failed') AND done.at >= approved.at "
            "WHERE approved.action IN ('approved', 'retried') "
            "AND approved.at <= to_timestamp(%s) AND done.at >= to_timestamp(%s)",
            (fault.lifted, fault.started),
        ).fetchone()
        emails = connection.execute(
            "SELECT max(sent_at), count(*) FILTER (WHERE status = 'pending') FROM emails "
            "WHERE created_at <= to_timestamp(%s) "
            "AND (sent_at IS NULL OR sent_at >= to_timestamp(%s))",
            (fault.lifted, fault.started),
        ).fetchone()
        ticket_s = _since(tickets[0] if tickets else None, fault.started)
        email_s = _since(emails[0] if emails else None, fault.started)
        still = f", {emails[1]} still pending" if emails and emails[1] else ""
        report.figures.append(
            f"  {fault.kind:<14} lasted {fault.lifted - fault.started:5.1f}  "
            f"tickets {ticket_s}  emails {email_s}{still}"
        )


def _since(moment: Any, started: float) -> str:
    if moment is None:
        return "   -  "
    return f"{moment.timestamp() - started:6.1f}"
