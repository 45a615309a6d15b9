"""The helper the refusal tests lean on: it must fail when something did change."""

from __future__ import annotations

import pytest

from partners.leads.models import Lead
from portal.audit import AuditEvent
from tests.factories import make_lead
from tests.unchanged import unchanged


def test_it_passes_when_nothing_changed(db, vendor):
    lead = make_lead(db, vendor)
    with unchanged(db, lead, (Lead, lead.id), counted=[Lead]):
        pass


def test_it_sees_a_changed_column(db, vendor):
    lead = make_lead(db, vendor, notes="before")
    with pytest.raises(AssertionError, match="notes"), unchanged(db, lead):
        lead.notes = "after"
        db.flush()


def test_it_sees_an_added_row_and_an_audit_event(db, vendor):
    lead = make_lead(db, vendor)
    with pytest.raises(AssertionError, match="Lead"), unchanged(db, counted=[Lead]):
        make_lead(db, vendor)
    with pytest.raises(AssertionError, match="AuditEvent"), unchanged(db):
        db.add(AuditEvent(org_id=vendor.id, action="x", object_type="Lead", object_id=lead.id))
        db.flush()
