"""The vendor's product catalogue: products, configuration rules between them, quantity breaks."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import Base, global_table

RULE_KINDS = ("requires", "excludes")


@global_table("the vendor's catalogue: one price list that every quote and partner reads")
class Product(Base):
    __tablename__ = "products"

    id: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    unit: Mapped[str] = mapped_column(String(20), default="unit")
    list_price: Mapped[Decimal] = mapped_column(Numeric(14, 4))
    currency: Mapped[str] = mapped_column(String(3))
    tax_rate_percent: Mapped[Decimal] = mapped_column(Numeric(5, 2), default=Decimal("0"))
    product_line: Mapped[str] = mapped_column(String(60), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    min_quantity: Mapped[int | None]
    max_quantity: Mapped[int | None]
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    breaks: Mapped[list[PriceBreak]] = relationship(
        order_by="PriceBreak.min_quantity", cascade="all, delete-orphan", back_populates="product"
    )
    rules: Mapped[list[ProductRule]] = relationship(
        foreign_keys="ProductRule.product_id",
        cascade="all, delete-orphan",
        order_by="ProductRule.id",
        back_populates="product",
    )

    __mapper_args__ = {"version_id_col": version}

    def __repr__(self) -> str:
        return f"<Product {self.sku}>"


@global_table("part of the vendor's catalogue (a product's tiered unit prices)")
class PriceBreak(Base):
    """From ``min_quantity`` units on, every unit of the line costs ``unit_price``."""

    __tablename__ = "product_price_breaks"
    __table_args__ = (
        UniqueConstraint("product_id", "min_quantity"),
        CheckConstraint("min_quantity > 1", name="min_quantity"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    min_quantity: Mapped[int]
    unit_price: Mapped[Decimal] = mapped_column(Numeric(14, 4))

    product: Mapped[Product] = relationship(back_populates="breaks")


@global_table("part of the vendor's catalogue (how products combine)")
class ProductRule(Base):
    """``product`` requires, or excludes, ``other`` on the same quote."""

    __tablename__ = "product_rules"
    __table_args__ = (
        UniqueConstraint("product_id", "kind", "other_product_id"),
        CheckConstraint("kind in ('requires', 'excludes')", name="kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(10))
    other_product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))

    product: Mapped[Product] = relationship(foreign_keys=[product_id], back_populates="rules")
    other: Mapped[Product] = relationship(foreign_keys=[other_product_id])
