"""Every model of the channel, so the app factory can register them in one import."""

from partners.catalogue.models import PriceBreak, Product, ProductRule
from partners.deals.models import DealConflict, DealRegistration, DirectDeal
from partners.leads.models import Lead, LeadOffer, SharedLead
from partners.program.models import Specialisation, Territory, Tier
from partners.quotes.models import Quote, QuoteLine, QuoteRequest

__all__ = [
    "DealConflict",
    "DealRegistration",
    "DirectDeal",
    "Lead",
    "LeadOffer",
    "PriceBreak",
    "Product",
    "ProductRule",
    "Quote",
    "QuoteLine",
    "QuoteRequest",
    "SharedLead",
    "Specialisation",
    "Territory",
    "Tier",
]
