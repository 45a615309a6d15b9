"""Demo cases: every status, a few SLAs breached, replies and internal notes, a customer
managed by a partner (Granite Bank, managed by Alpine) and one that shares its cases; customers'
follow-up questions whose next reply came in time or late (the next-response target), and one
still awaited."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from sqlalchemy import select

from portal.business_hours import add_business_hours
from portal.clock import utcnow
from portal.identity.models import User
from portal.tenancy import Principal
from selfservice.cases import services
from selfservice.cases.models import (
    Case,
    CaseComment,
    CaseReplyWait,
    CaseSettings,
    CaseStatus,
    CaseStatusChange,
    CaseWatcher,
    SupportTeam,
    SupportTeamMember,
)
from selfservice.cases.sla import calendar_for

# requester, subject, priority, product (a catalogue SKU of partners.quotes.seed, a product
# line's code, or ""), history [(status, hours ago)], replies [(by agent, internal, hours ago,
# text)]
DEMO_CASES = [
    ("lee@granite.example", "Branch VPN tunnel drops every few hours", "high", "SEC-FW-200",
     [("new", 30)], []),
    ("admin@granite.example", "Core switch ports amber after firmware 5.2", "urgent", "NW-CORE-48",
     [("new", 50), ("open", 48)],
     [(True, False, 48, "Thanks, we are looking at the logs now."),
      (True, True, 47, "Matches known issue with portfast on 5.2; engineering ticket ENG-2211."),
      (False, False, 2, "Any news? Ports 12 to 24 are still amber.")]),
    ("lee@granite.example", "Scanner to email fails with authentication error", "normal", "",
     [("new", 20), ("pending", 18)],
     [(True, False, 18, "Could you send us the scanner's SMTP settings (without the password)?")]),
    ("admin@harbor.example", "Licence activation refused on new server", "normal", "SEC-LIC-STD",
     [("new", 40), ("open", 39), ("on_hold", 30)],
     [(True, False, 39, "We have asked the licensing team to reset your activations."),
      (True, True, 30, "Waiting on licensing (LIC-884).")]),
    ("admin@iris.example", "Printer offline after driver update", "low", "",
     [("new", 100), ("open", 99), ("solved", 20)],
     [(True, False, 99, "Please remove the duplicate port and restart the spooler."),
      (False, False, 21, "That fixed it, thank you!")]),
    ("admin@juniper.example", "Invoice shows prorated seats twice", "normal", "",
     [("new", 300), ("open", 299), ("solved", 200), ("closed", 100)],
     [(True, False, 299, "Corrected invoice attached; sorry for the trouble.")]),
    ("admin@kestrel.example", "Production line dashboards do not load", "urgent", "cloud",
     [("new", 12)], []),
    ("admin@harbor.example", "Wi-Fi clients cannot get an address in warehouse 3", "high", "NW-AP7",
     [("new", 6)], []),
]  # fmt: skip

# Cases of the last six months, solved and closed: their satisfaction surveys (feedback's seed
# answers most of them) give results over several months.
PAST_SUBJECTS = [
    ("Firewall rule changes not applied", "SEC-FW-200"),
    ("Switch stack lost its second member", "NW-CORE-48"),
    ("Licence count wrong after renewal", "SEC-LIC-STD"),
    ("Invoice address needs correcting", ""),
    ("Access point reboots at night", "NW-AP7"),
    ("Cannot download the new firmware", "networking"),
]
PAST_REQUESTERS = [
    "admin@granite.example",
    "lee@granite.example",
    "admin@harbor.example",
    "admin@iris.example",
    "admin@juniper.example",
    "admin@kestrel.example",
]
PAST_CASES = [
    (
        PAST_REQUESTERS[n % len(PAST_REQUESTERS)],
        f"{PAST_SUBJECTS[n % len(PAST_SUBJECTS)][0]} ({n + 1})",
        ("low", "normal", "high")[n % 3],
        PAST_SUBJECTS[n % len(PAST_SUBJECTS)][1],
        [("new", hours), ("open", hours - 2), ("solved", hours - 30), ("closed", hours - 130)],
        [
            (True, False, hours - 2, "Thanks for the details; here is what to change."),
            (False, False, hours - 4, "Where do I find that setting?"),
            # every fourth follow-up answered a day late: its next response breached
            (True, False, hours - (28 if n % 4 == 3 else 5), "Under Settings, then Advanced."),
        ],
    )
    for n, hours in enumerate(range(24 * 175, 24 * 10, -24 * 9))
]


def billing(subject: str, product: str) -> bool:
    """Licences and invoices go to the licensing and billing team."""
    return product == "SEC-LIC-STD" or subject.startswith("Invoice")


def _settle_answered(case: Case, waits: list, now) -> None:
    """The waits answered in the past, as their clocks settled them: breached if the reply
    came after the next-response hours (then due when they ran out; the demo's follow-ups come
    while the case is open, so nothing paused them)."""
    policy = case.sla_policy
    calendar = calendar_for(policy, current_app.config)
    for wait in waits:
        if services.wait_clock(case, wait, now).breached:
            limit = timedelta(hours=float(policy.hours("next_response")))
            wait.breached = True
            wait.due_at = add_business_hours(wait.started_at, limit, calendar)


def seed_cases(session, orgs) -> int:
    """Each case is opened new and walks its history through ``services.move_case`` at the
    past times given (the status history, audit events and, for the solved ones, the
    ``case.solved`` event that sends their satisfaction survey, as a solve does)."""
    if session.scalar(select(Case.id).limit(1)) is not None:
        return 0
    users = {u.email: u for u in session.scalars(select(User))}
    agent = users["support@northwind.example"]
    support = Principal.for_user(agent)
    teams = {}
    for name, emails, lead in (
        ("Networking", ["support@northwind.example"], "support@northwind.example"),
        (
            "Licensing and billing",
            ["support@northwind.example", "admin@northwind.example"],
            "admin@northwind.example",
        ),
    ):
        teams[name] = SupportTeam(name=name, lead_id=users[lead].id)
        session.add(teams[name])
        session.flush()
        for email in emails:
            session.add(SupportTeamMember(team_id=teams[name].id, user_id=users[email].id))
    now = utcnow()
    added = 0
    for email, subject, priority, product, history, replies in DEMO_CASES + PAST_CASES:
        requester = users[email]
        org = requester.org
        opened = now - timedelta(hours=history[0][1])
        case = Case(
            org_id=org.id,
            number="pending",
            subject=subject,
            description=f"{subject}.\n\nReported by {requester.name}.",
            requester_id=requester.id,
            opened_by_id=requester.id,
            priority=priority,
            status=CaseStatus.new,
            created_at=opened,
            updated_at=now - timedelta(hours=history[-1][1]),
            status_changed_at=opened,
            assignee_id=agent.id if len(history) > 1 else None,
            assigned_at=now - timedelta(hours=history[1][1]) if len(history) > 1 else None,
            team_id=teams[
                "Licensing and billing" if billing(subject, product) else "Networking"
            ].id,
        )
        # What it is about: the catalogue's product (and its line) or a line, as a case opened
        # with these words would be; the policy as opening chooses it.
        services.apply_product(case, services.product_named(product))
        policy = services.choose_policy(org, priority, services.product_terms(case))
        case.sla_policy_id = policy.id if policy else None
        session.add(case)
        session.flush()
        case.number = f"CS-{opened.year}-{case.id:06d}"
        session.add(
            CaseStatusChange(org_id=org.id, case_id=case.id, status=CaseStatus.new, at=opened)
        )
        waits = []  # the customer's follow-ups: (wait, answered) in time order
        for by_agent, internal, hours, text in replies:
            at = now - timedelta(hours=hours)
            session.add(
                CaseComment(
                    org_id=org.id,
                    case_id=case.id,
                    author_id=agent.id if by_agent else requester.id,
                    body=text,
                    internal=internal,
                    by_agent=by_agent,
                    created_at=at,
                )
            )
            if internal:
                continue
            if by_agent and case.first_responded_at is None:
                case.first_responded_at = at
            elif by_agent and waits and waits[-1].answered_at is None:
                waits[-1].answered_at = at
            elif (
                not by_agent
                and case.first_responded_at
                and policy
                and (policy.sets("next_response") and not (waits and waits[-1].answered_at is None))
            ):
                waits.append(CaseReplyWait(org_id=org.id, case_id=case.id, started_at=at))
        session.add_all(waits)
        session.flush()
        session.refresh(case, ["sla_policy"])
        for status, hours in history[1:]:
            services.move_case(case, status, actor=support, at=now - timedelta(hours=hours))
        _settle_answered(case, [w for w in waits if w.answered_at is not None], now)
        services.refresh_sla(case, now)  # the old urgent ones breach
        added += 1
    alpine_admin = users.get("admin@alpine.example")
    granite_case = session.scalar(select(Case).where(Case.subject.like("Branch VPN%")))
    if alpine_admin is not None and granite_case is not None:
        session.add(
            CaseWatcher(
                org_id=granite_case.org_id, case_id=granite_case.id, user_id=alpine_admin.id
            )
        )
    harbor = orgs.get("Harbor Logistics")
    if harbor is not None:
        session.add(CaseSettings(org_id=harbor.id, shared=True))
    return added
