"""Price resolution and configuration rules: pure functions over plain values, no database.

A line's price is resolved in a fixed order, all in ``Decimal``:

1. the product's list price;
2. the quantity break: from a break's minimum quantity on, every unit costs the break's price
   (the highest break the quantity reaches wins);
3. the recipient partner's tier discount (percent);
4. the line discount (percent), which a vendor role may give up to its limit (more needs a vendor
   admin's approval, enforced by the services);

then the net amount is rounded to the currency's minor unit (half up), the tax is computed on the
rounded net and rounded the same way. Totals are sums of rounded lines, so the lines always add
up to the total a recipient sees.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from flask_babel import gettext as _

# Money rounding is app-wide now (``portal.formatting``); its functions stay importable here.
from portal.formatting import quantum, round_money

__all__ = [
    "HUNDRED",
    "LinePrice",
    "RuleProduct",
    "Totals",
    "Violation",
    "break_price",
    "check_rules",
    "price_line",
    "quantum",
    "round_money",
    "totals",
]
HUNDRED = Decimal(100)


def break_price(
    list_price: Decimal, breaks: Iterable[tuple[int, Decimal]], quantity: int
) -> Decimal:
    """The unit price at ``quantity``: the price of the highest break reached, else list."""
    price, reached = list_price, 0
    for min_quantity, unit_price in breaks:
        if reached < min_quantity <= quantity:
            price, reached = unit_price, min_quantity
    return price


@dataclass(frozen=True)
class LinePrice:
    unit_price: Decimal  # after the quantity break
    net_unit_price: Decimal  # after both discounts, unrounded
    net_amount: Decimal  # rounded to the currency
    tax_amount: Decimal  # rounded to the currency

    @property
    def total(self) -> Decimal:
        return self.net_amount + self.tax_amount


def price_line(
    *,
    list_price: Decimal,
    breaks: Iterable[tuple[int, Decimal]] = (),
    quantity: int,
    tier_discount_percent: Decimal = Decimal(0),
    discount_percent: Decimal = Decimal(0),
    tax_rate_percent: Decimal = Decimal(0),
    currency: str,
) -> LinePrice:
    """Resolve one line's price (see the module's docstring for the order)."""
    if quantity < 1:
        raise ValueError("quantity must be at least 1")
    for percent in (tier_discount_percent, discount_percent, tax_rate_percent):
        if not Decimal(0) <= percent <= HUNDRED:
            raise ValueError("percentages lie between 0 and 100")
    unit = break_price(list_price, breaks, quantity)
    net_unit = unit * (1 - tier_discount_percent / HUNDRED) * (1 - discount_percent / HUNDRED)
    net = round_money(net_unit * quantity, currency)
    tax = round_money(net * tax_rate_percent / HUNDRED, currency)
    return LinePrice(unit, net_unit, net, tax)


@dataclass(frozen=True)
class Totals:
    subtotal: Decimal
    tax_total: Decimal
    total: Decimal


def totals(lines: Iterable, currency: str) -> Totals:
    """Sums of the lines' rounded amounts (anything with ``net_amount`` and ``tax_amount``)."""
    lines = list(lines)
    zero = round_money(Decimal(0), currency)
    subtotal = sum((line.net_amount for line in lines), zero)
    tax = sum((line.tax_amount for line in lines), zero)
    return Totals(subtotal, tax, subtotal + tax)


# Configuration rules.


@dataclass(frozen=True)
class RuleProduct:
    """What the rules need to know of a product."""

    id: int
    sku: str
    active: bool = True
    min_quantity: int | None = None
    max_quantity: int | None = None
    requires: tuple[int, ...] = ()
    excludes: tuple[int, ...] = ()


@dataclass(frozen=True)
class Violation:
    rule: str  # inactive | min_quantity | max_quantity | requires | excludes
    message: str
    positions: tuple[int, ...]  # the lines concerned (1-based positions)


def check_rules(
    lines: Sequence[tuple[int, int, int]], products: dict[int, RuleProduct]
) -> list[Violation]:
    """Every rule the lines break. ``lines`` are (position, product id, quantity); a product on
    several lines counts its quantities together. Rules: the product is active; its total
    quantity is within its minimum and maximum; a product it requires is on the quote; a product
    it excludes is not. An empty list: the quote may be sent."""
    positions: dict[int, list[int]] = defaultdict(list)
    quantity: dict[int, int] = defaultdict(int)
    for position, product_id, qty in lines:
        positions[product_id].append(position)
        quantity[product_id] += qty
    found: list[Violation] = []
    for product_id in positions:
        product = products[product_id]
        where = tuple(positions[product_id])
        if not product.active:
            found.append(
                Violation("inactive", _("%(sku)s is no longer sold.", sku=product.sku), where)
            )
        if product.min_quantity is not None and quantity[product_id] < product.min_quantity:
            found.append(
                Violation(
                    "min_quantity",
                    _(
                        "%(sku)s is sold from %(n)d units (the quote has %(q)d).",
                        sku=product.sku,
                        n=product.min_quantity,
                        q=quantity[product_id],
                    ),
                    where,
                )
            )
        if product.max_quantity is not None and quantity[product_id] > product.max_quantity:
            found.append(
                Violation(
                    "max_quantity",
                    _(
                        "%(sku)s is sold up to %(n)d units (the quote has %(q)d).",
                        sku=product.sku,
                        n=product.max_quantity,
                        q=quantity[product_id],
                    ),
                    where,
                )
            )
        for required in product.requires:
            if required not in positions:
                other = products.get(required)
                found.append(
                    Violation(
                        "requires",
                        _(
                            "%(sku)s requires %(other)s on the same quote.",
                            sku=product.sku,
                            other=other.sku if other else required,
                        ),
                        where,
                    )
                )
        for excluded in product.excludes:
            if excluded in positions:
                other = products[excluded]
                found.append(
                    Violation(
                        "excludes",
                        _(
                            "%(sku)s cannot be combined with %(other)s.",
                            sku=product.sku,
                            other=other.sku,
                        ),
                        where + tuple(positions[excluded]),
                    )
                )
    return found
