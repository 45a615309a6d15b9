"""Every model of the channel, so the app factory can register them in one import."""

from partners.deals.models import DealConflict, DealRegistration, DirectDeal
from partners.leads.models import Lead, LeadOffer, SharedLead
from partners.program.models import Specialisation, Territory, Tier

__all__ = [
    "DealConflict",
    "DealRegistration",
    "DirectDeal",
    "Lead",
    "LeadOffer",
    "SharedLead",
    "Specialisation",
    "Territory",
    "Tier",
]
