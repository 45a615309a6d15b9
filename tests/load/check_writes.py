"""Check the load test's writes against the database: every acknowledged write is there exactly
once, under the id the portal answered with, and nothing unacknowledged is half-written.

    python tests/load/check_writes.py --database-url URL --writes writes.jsonl --run-id RUN

- deals (form and API): one registration whose customer name carries the marker, with the id the
  portal returned, and its ``deal.registered`` audit event (written in the same transaction);
- case replies: one comment carrying the marker, on the case replied to, and the case's
  ``updated_at`` moved with it; a reply the case refused (422) left nothing;
- votes: each (person, idea) ends as that person's last acknowledged vote or unvote said (a later
  unacknowledged one may have gone either way), and every idea's ``vote_count`` is its votes;
- unacknowledged writes: at most one row each, and that row complete as above;
- no row carries a marker of this run that the load test never recorded;
- the outbox has no message left ``sending``.

Prints one line per problem and a summary; exits 1 if there is any problem.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict

from sqlalchemy import create_engine, text


def load_writes(path: str) -> list[dict]:
    with open(path, encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def marked_rows(connection, sql: str, prefix: str) -> dict[str, list]:
    """Rows whose text carries a marker of this run, by marker (``LT-<run>-<n>``)."""
    rows = defaultdict(list)
    for row in connection.execute(text(sql), {"pattern": f"%{prefix}%"}):
        start = row.text.index(prefix)
        end = start + len(prefix)
        while end < len(row.text) and row.text[end].isdigit():
            end += 1
        rows[row.text[start:end]].append(row)
    return rows


def check_deals(connection, writes: list[dict], prefix: str, problems: list[str]) -> dict:
    rows = marked_rows(
        connection,
        "SELECT d.id, d.customer_name AS text, "
        "(SELECT count(*) FROM audit_events a WHERE a.object_type = 'DealRegistration' "
        "AND a.object_id = d.id AND a.action = 'deal.registered') AS audited "
        "FROM deal_registrations d WHERE d.customer_name LIKE :pattern",
        prefix,
    )
    counts = {"acknowledged": 0, "unacknowledged": 0, "unacknowledged written": 0}
    for write in writes:
        found = rows.get(write["marker"], [])
        for row in found:
            if row.audited != 1:
                problems.append(f"deal {row.id} ({write['marker']}): {row.audited} audit events")
        if write["acked"]:
            counts["acknowledged"] += 1
            if len(found) != 1:
                problems.append(f"acknowledged deal {write['marker']}: {len(found)} rows")
            elif found[0].id != write["id"]:
                problems.append(
                    f"acknowledged deal {write['marker']}: id {found[0].id}, answered {write['id']}"
                )
        else:
            counts["unacknowledged"] += 1
            counts["unacknowledged written"] += len(found) == 1
            if len(found) > 1:
                problems.append(f"unacknowledged deal {write['marker']}: {len(found)} rows")
    return counts


def check_replies(connection, writes: list[dict], prefix: str, problems: list[str]) -> dict:
    rows = marked_rows(
        connection,
        "SELECT c.id, c.case_id, c.body AS text, "
        "(k.updated_at >= c.created_at) AS case_moved "
        "FROM case_comments c JOIN cases k ON k.id = c.case_id WHERE c.body LIKE :pattern",
        prefix,
    )
    counts = {"acknowledged": 0, "refused": 0, "unacknowledged": 0, "unacknowledged written": 0}
    for write in writes:
        found = rows.get(write["marker"], [])
        for row in found:
            if row.case_id != write["case_id"]:
                problems.append(
                    f"reply {write['marker']} on case {row.case_id}, not {write['case_id']}"
                )
            if not row.case_moved:
                problems.append(f"reply {write['marker']}: its case's updated_at did not move")
        if write["acked"]:
            counts["acknowledged"] += 1
            if len(found) != 1:
                problems.append(f"acknowledged reply {write['marker']}: {len(found)} rows")
        elif write.get("refused"):
            counts["refused"] += 1
            if found:
                problems.append(f"refused reply {write['marker']}: {len(found)} rows")
        else:
            counts["unacknowledged"] += 1
            counts["unacknowledged written"] += len(found) == 1
            if len(found) > 1:
                problems.append(f"unacknowledged reply {write['marker']}: {len(found)} rows")
    return counts


def check_votes(connection, writes: list[dict], problems: list[str]) -> dict:
    users = dict(connection.execute(text("SELECT email, id FROM users")).all())
    votes = defaultdict(int)
    for user_id, idea_id in connection.execute(text("SELECT user_id, idea_id FROM idea_votes")):
        votes[(user_id, idea_id)] += 1
    by_pair = defaultdict(list)
    counts = {"acknowledged": 0, "refused": 0, "unacknowledged": 0, "pairs checked": 0}
    for write in sorted(writes, key=lambda w: w["t"]):
        if write.get("refused"):  # votes closed on the idea: nothing changed
            counts["refused"] += 1
            continue
        by_pair[(users[write["user"]], write["idea_id"])].append(write)
    for pair, sequence in by_pair.items():
        counts["acknowledged"] += sum(w["acked"] for w in sequence)
        counts["unacknowledged"] += sum(not w["acked"] for w in sequence)
        if votes[pair] > 1:
            problems.append(f"user {pair[0]} has {votes[pair]} votes on idea {pair[1]}")
        acked = [i for i, w in enumerate(sequence) if w["acked"]]
        if not acked or acked[-1] != len(sequence) - 1:
            continue  # no acknowledged answer, or an unacknowledged one after it: either state
        counts["pairs checked"] += 1
        expected = 1 if sequence[acked[-1]]["action"] == "vote" else 0
        if votes[pair] != expected:
            problems.append(
                f"user {pair[0]} idea {pair[1]}: {votes[pair]} votes after an acknowledged "
                f"{sequence[acked[-1]]['action']}"
            )
    for idea_id, vote_count, counted in connection.execute(
        text(
            "SELECT i.id, i.vote_count, (SELECT count(*) FROM idea_votes v WHERE v.idea_id = i.id)"
            " FROM ideas i"
        )
    ):
        if vote_count != counted:
            problems.append(f"idea {idea_id}: vote_count {vote_count}, {counted} votes")
    return counts


def check_unrecorded(connection, writes: list[dict], prefix: str, problems: list[str]) -> None:
    recorded = {w["marker"] for w in writes if "marker" in w}
    for table, column in (("deal_registrations", "customer_name"), ("case_comments", "body")):
        sql = f"SELECT id, {column} AS text FROM {table} WHERE {column} LIKE :pattern"  # noqa: S608
        for mark in marked_rows(connection, sql, prefix):
            if mark not in recorded:
                problems.append(f"{table}: {mark} was written but never recorded by the load test")


def check(database_url: str, writes: list[dict], run_id: str) -> tuple[dict, list[str]]:
    prefix = f"LT-{run_id}-"
    problems: list[str] = []
    by_kind = defaultdict(list)
    for write in writes:
        by_kind[write["kind"]].append(write)
    engine = create_engine(database_url)
    with engine.connect() as connection:
        summary = {
            "deals": check_deals(connection, by_kind["deal"], prefix, problems),
            "replies": check_replies(connection, by_kind["reply"], prefix, problems),
            "votes": check_votes(connection, by_kind["vote"], problems),
            "outbox": dict(
                connection.execute(
                    text("SELECT status, count(*) FROM outbox_messages GROUP BY status")
                ).all()
            ),
        }
        check_unrecorded(connection, writes, prefix, problems)
    engine.dispose()
    if summary["outbox"].get("sending"):
        problems.append(f"outbox: {summary['outbox']['sending']} messages left in sending")
    return summary, problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--writes", required=True, help="the locustfile's JSON-lines record")
    parser.add_argument("--run-id", required=True, help="the run's marker prefix LT-<run-id>-")
    parser.add_argument("--json", help="also write the result here")
    args = parser.parse_args()
    summary, problems = check(args.database_url, load_writes(args.writes), args.run_id)
    for problem in problems:
        print(f"PROBLEM {problem}")
    print(json.dumps(summary, indent=2, default=str))
    print(f"check_writes: {'OK' if not problems else f'{len(problems)} problems'}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump({"summary": summary, "problems": problems}, out, indent=2, default=str)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
