"""Price resolution and configuration rules, without a database."""

from decimal import Decimal

import pytest

from partners.quotes.pricing import (
    LinePrice,
    RuleProduct,
    break_price,
    check_rules,
    price_line,
    quantum,
    round_money,
    totals,
)

D = Decimal
BREAKS = [(10, D("90.00")), (50, D("80.00")), (100, D("70.00"))]


@pytest.mark.parametrize(
    ("quantity", "expected"),
    [(1, "100.00"), (9, "100.00"), (10, "90.00"), (49, "90.00"), (50, "80.00"), (500, "70.00")],
)
def test_quantity_breaks_price_every_unit_at_the_highest_break_reached(quantity, expected):
    assert break_price(D("100.00"), BREAKS, quantity) == D(expected)


def test_breaks_given_in_any_order():
    assert break_price(D("100"), list(reversed(BREAKS)), 60) == D("80.00")


def test_resolution_order_list_break_tier_line_discount_then_tax():
    line = price_line(
        list_price=D("100.00"),
        breaks=BREAKS,
        quantity=10,
        tier_discount_percent=D("15"),
        discount_percent=D("10"),
        tax_rate_percent=D("20"),
        currency="EUR",
    )
    assert line.unit_price == D("90.00")
    # 90 * 0.85 * 0.90 = 68.85 per unit, * 10
    assert line.net_amount == D("688.50")
    assert line.tax_amount == D("137.70")
    assert line.total == D("826.20")


def test_rounding_is_half_up_to_the_currencys_minor_unit():
    assert quantum("EUR") == D("0.01")
    assert quantum("JPY") == D("1")
    assert quantum("KWD") == D("0.001")
    assert round_money(D("0.125"), "EUR") == D("0.13")
    assert round_money(D("0.135"), "EUR") == D("0.14")
    assert round_money(D("1234.5"), "JPY") == D("1235")
    assert round_money(D("1.2345"), "KWD") == D("1.235")


def test_amounts_stay_decimal_without_float_error():
    line = price_line(list_price=D("0.10"), quantity=3, tax_rate_percent=D("7.7"), currency="CHF")
    assert line.net_amount == D("0.30")  # 0.1 * 3 in float is 0.30000000000000004
    assert line.tax_amount == D("0.02")  # 0.0231 rounded
    assert isinstance(line.net_amount, Decimal)


def test_yen_lines_have_no_minor_unit():
    line = price_line(list_price=D("1999"), quantity=3, discount_percent=D("12.5"), currency="JPY")
    assert line.net_amount == D("5247")  # 5247.375
    assert line.net_amount.as_tuple().exponent == 0


def test_tax_is_computed_on_the_rounded_net_of_each_line():
    line = price_line(list_price=D("33.333"), quantity=1, tax_rate_percent=D("19"), currency="EUR")
    assert line.net_amount == D("33.33")
    assert line.tax_amount == D("6.33")  # 19% of 33.33 = 6.3327


def test_totals_are_sums_of_rounded_lines():
    lines = [
        LinePrice(D("1"), D("1"), D("10.01"), D("1.90")),
        LinePrice(D("1"), D("1"), D("5.00"), D("0.00")),
    ]
    t = totals(lines, "EUR")
    assert (t.subtotal, t.tax_total, t.total) == (D("15.01"), D("1.90"), D("16.91"))
    assert totals([], "EUR").total == D("0.00")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"quantity": 0},
        {"quantity": 1, "discount_percent": D("101")},
        {"quantity": 1, "tier_discount_percent": D("-1")},
        {"quantity": 1, "tax_rate_percent": D("100.01")},
    ],
)
def test_out_of_range_inputs_are_refused(kwargs):
    with pytest.raises(ValueError):
        price_line(list_price=D("1"), currency="EUR", **kwargs)


# Configuration rules.

SWITCH = RuleProduct(1, "SW-48", requires=(2,), min_quantity=2, max_quantity=40)
PSU = RuleProduct(2, "PSU-1")
LEGACY = RuleProduct(3, "LIC-OLD", excludes=(4,))
NEW = RuleProduct(4, "LIC-NEW")
GONE = RuleProduct(5, "EOL-1", active=False)
PRODUCTS = {p.id: p for p in (SWITCH, PSU, LEGACY, NEW, GONE)}


def rules(*lines):
    return {(v.rule, v.positions) for v in check_rules(list(lines), PRODUCTS)}


def test_a_valid_configuration_breaks_no_rule():
    assert check_rules([(1, 1, 4), (2, 2, 4), (3, 4, 1)], PRODUCTS) == []


def test_requires_names_the_line_that_needs_the_missing_product():
    assert rules((1, 1, 4)) == {("requires", (1,))}
    (v,) = check_rules([(1, 1, 4)], PRODUCTS)
    assert "SW-48" in v.message and "PSU-1" in v.message


def test_excludes_names_both_lines():
    assert rules((1, 3, 1), (2, 4, 1)) == {("excludes", (1, 2))}


def test_minimum_and_maximum_quantity_count_all_lines_of_the_product():
    assert rules((1, 1, 1), (2, 2, 1)) == {("min_quantity", (1,))}
    assert rules((1, 1, 1), (2, 1, 1), (3, 2, 1)) == set()  # 2 in total
    assert rules((1, 1, 30), (2, 1, 11), (3, 2, 1)) == {("max_quantity", (1, 2))}


def test_an_inactive_product_cannot_be_quoted():
    assert rules((1, 5, 1)) == {("inactive", (1,))}


def test_several_rules_are_reported_together():
    found = rules((1, 1, 1), (2, 3, 1), (3, 4, 1))
    assert found == {("requires", (1,)), ("min_quantity", (1,)), ("excludes", (2, 3))}


def test_money_and_markdown_are_app_wide_filters(app):
    from portal import formatting

    assert app.jinja_env.filters["money"] is formatting.money
    assert app.jinja_env.filters["markdown"] is formatting.markdown
    assert formatting.money(D("1234.5"), "EUR") == "€1,234.50"
    assert formatting.money(D("1234.5"), "JPY") == "¥1,235" and formatting.money(None, "EUR") == ""
    html = formatting.markdown("**a** <b>x</b> [l](javascript:alert(1))")
    assert "<strong>a</strong>" in html and "&lt;b&gt;" in html and 'href="javascript:' not in html
