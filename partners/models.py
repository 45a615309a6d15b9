"""Every model of the channel, so the app factory (and anything that compares the models with
the migrations) registers them in one import."""

from partners.catalogue.models import PriceBreak, Product, ProductRule
from partners.deals.models import DealConflict, DealRegistration, DirectDeal
from partners.funds.models import FundBudget, FundClaim, FundClaimFile, FundRequest
from partners.leads.models import Lead, LeadOffer, SharedLead
from partners.program.models import Certification, Specialisation, Territory, Tier, TierProposal
from partners.quotes.models import Quote, QuoteLine, QuoteRequest
from partners.sourcing.models import Rfq, SupplierOffer, SupplierOfferLine

__all__ = [
    "Certification",
    "DealConflict",
    "DealRegistration",
    "DirectDeal",
    "FundBudget",
    "FundClaim",
    "FundClaimFile",
    "FundRequest",
    "Lead",
    "LeadOffer",
    "PriceBreak",
    "Product",
    "ProductRule",
    "Quote",
    "QuoteLine",
    "QuoteRequest",
    "Rfq",
    "SharedLead",
    "Specialisation",
    "SupplierOffer",
    "SupplierOfferLine",
    "Territory",
    "Tier",
    "TierProposal",
]
