"""Reading PostgreSQL's printed policy conditions (``portal.migrate``): where the calls of
``current_setting`` stand, and which tables a policy reads in a subquery. Migration 0043 rewrites
by them and the row-level security tests check by them."""

from portal.migrate import setting_calls, tables_read_in_subqueries

SCOPE = "current_setting('app.scope'::text, true)"
ORG = "(NULLIF(current_setting('app.org_id'::text, true), ''::text))::integer"


def _where(condition: str) -> list[tuple[str, int, bool]]:
    return [
        (condition[c.start : c.end], c.subqueries, c.in_scalar_subquery)
        for c in setting_calls(condition)
    ]


def test_a_top_level_call_and_one_in_a_subquery_that_reads_a_table():
    condition = (
        f"(({SCOPE} = 'all'::text) OR (org_id IN ( SELECT r.id FROM organizations r "
        f"WHERE (r.managed_by_id = {ORG}))))"
    )
    assert _where(condition) == [(SCOPE, 0, False), (ORG, 1, False)]


def test_a_call_read_once_is_in_a_scalar_subquery_however_it_is_written():
    printed = f"(( SELECT {SCOPE} AS current_setting) = 'all'::text)"
    by_hand = f"( SELECT ({SCOPE} = 'all'::text))"
    assert _where(printed) == [(SCOPE, 1, True)]
    assert _where(by_hand) == [(SCOPE, 1, True)]


def test_one_argument_calls_and_common_table_expressions_count():
    one_argument = "current_setting('app.scope'::text)"
    condition = f"(org_id IN ( WITH x AS (SELECT 1) SELECT 1 WHERE {one_argument} = 'all'::text))"
    assert _where(condition) == [(one_argument, 1, True)]


def test_brackets_and_quotes_inside_literals_are_text():
    condition = f"((name)::text = '(it''s'::text) OR ({SCOPE} = ')'::text)"
    assert _where(condition) == [(SCOPE, 0, False)]


def test_the_tables_read_in_subqueries():
    conditions = [
        "(org_id IN ( SELECT r.id FROM organizations r WHERE (r.kind)::text = 'reseller'::text))",
        "(EXISTS ( SELECT 1 FROM (quotes q JOIN lead_offers o ON ((o.id = q.id)))))",
        "(a IS DISTINCT FROM b) AND (c IS NOT DISTINCT FROM d)",
    ]
    assert tables_read_in_subqueries(conditions) == {"organizations", "quotes", "lead_offers"}
