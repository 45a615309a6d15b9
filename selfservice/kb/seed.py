"""The demo help centre: categories and articles for every audience, a few drafts, some votes."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from portal.clock import utcnow
from selfservice.kb.models import Article, ArticleCategory, ArticleEvent, ArticleVote

CATEGORIES = [
    ("Getting started", "First steps with Northwind products and this portal."),
    ("Accounts and sign-in", "Passwords, single sign-on, users and roles."),
    ("Networking", "Switches, firewalls, VPN and Wi-Fi."),
    ("Printing and devices", "Printers, scanners and device management."),
    ("Licences and billing", "Subscriptions, invoices and licence keys."),
    ("Troubleshooting", "When something stopped working."),
    ("Partner programme", "For resellers, distributors and suppliers."),
    ("Support runbooks", "How the support team works (internal)."),
]

# title, category, audience, status, body
ARTICLES = [
    ("Setting up your portal account", "Getting started", "public", "published",
     "Your administrator invites you by email. Open the link within seven days, choose a "
     "password of at least twelve characters and sign in.\n\n## Next steps\n\n- Set your time "
     "zone under *Account* so deadlines show in your local time.\n- Choose which emails you "
     "want under *Notifications*."),
    ("How to raise a support case", "Getting started", "public", "published",
     "Open **Cases → Open a case**. As you type the subject, the portal suggests articles that "
     "may already answer your question.\n\nGive the product, the priority and what you "
     "expected to happen. Attach screenshots or logs (PDF, images, text, zip; up to 10 MB)."),
    ("What the case priorities mean", "Getting started", "public", "published",
     "- **Urgent**: production is down for many users; first response within 1 business "
     "hour.\n- **High**: an important function fails; 4 business hours.\n- **Normal**: a "
     "question or a fault with a workaround; 8 business hours.\n- **Low**: cosmetic issues "
     "and requests; 16 business hours."),
    ("Understanding case statuses", "Getting started", "public", "published",
     "*New* and *Open* cases are being worked. *Pending* means we wait for your answer; "
     "replying reopens the case. *On hold* means we wait for a third party. *Solved* cases "
     "close by themselves after four days unless you reply."),
    ("Reset a forgotten password", "Accounts and sign-in", "public", "published",
     "On the sign-in page choose **Forgot your password?** and enter your email. The link "
     "works for two hours and only once. If your organisation signs in through its own "
     "identity provider, reset the password there instead."),
    ("Single sign-on with your identity provider", "Accounts and sign-in", "customers",
     "published",
     "Organisation admins can connect an OpenID Connect provider under **Sign-in**. Enter "
     "the issuer URL, client id and secret, and the email domains that must use it. Test "
     "with a second browser before signing out."),
    ("Adding and removing users", "Accounts and sign-in", "public", "published",
     "Admins invite people under **Team**. Deactivating a user signs them out everywhere at "
     "once; their cases stay visible to the organisation's admins."),
    ("Sharing cases across your organisation", "Accounts and sign-in", "customers",
     "published",
     "By default each person sees the cases they raised or watch, and admins see all. An "
     "admin can choose **Cases → Sharing** so that everyone in the organisation sees every "
     "case."),
    ("Configure a site-to-site VPN on the NW-FW200", "Networking", "customers", "published",
     "1. Create an IKEv2 profile with AES-256-GCM.\n2. Add the peer's public address and a "
     "pre-shared key of at least 32 characters.\n3. Add the local and remote subnets.\n\n"
     "If the tunnel comes up but no traffic passes, check that both sides use the same "
     "subnets and that NAT exemption is configured."),
    ("VPN tunnel drops every few hours", "Networking", "public", "published",
     "Tunnels that drop at regular intervals usually have mismatched lifetimes. Set the IKE "
     "lifetime to 28800 seconds and the IPsec lifetime to 3600 seconds on both peers, and "
     "enable dead peer detection."),
    ("Switch ports stay amber after a firmware update", "Networking", "public", "published",
     "After updating NW-SW48 firmware to 5.2, ports with spanning tree portfast disabled "
     "can stay blocked for 50 seconds. Enable portfast on edge ports or wait for "
     "convergence. Version 5.2.1 fixes the LED staying amber."),
    ("Wi-Fi clients cannot get an IP address", "Networking", "public", "published",
     "Check the DHCP scope is not exhausted and that the access point's VLAN is tagged on "
     "the uplink. Clients with a stale DHCP lease can be forced to renew by toggling Wi-Fi."),
    ("Printer shows offline after a driver update", "Printing and devices", "public",
     "published",
     "Windows sometimes creates a second printer port after a driver update. Open **Printer "
     "properties → Ports**, select the TCP/IP port with the printer's address, and restart "
     "the print spooler service."),
    ("Printer jobs stuck in the queue", "Printing and devices", "public", "published",
     "Stop the print spooler, delete the files in `C:\\Windows\\System32\\spool\\PRINTERS`, "
     "then start the spooler again. If jobs stick again, update the printer's firmware."),
    ("Scanner to email fails with an authentication error", "Printing and devices",
     "public", "published",
     "Most mail services no longer accept basic authentication. Use an app password, or "
     "configure the scanner to send through your organisation's SMTP relay on port 587 with "
     "STARTTLS."),
    ("Enrolling devices in Northwind Device Manager", "Printing and devices", "customers",
     "published",
     "Download the enrolment profile from **Devices → Enrol**, install it on the device and "
     "sign in with your portal account. Devices appear within five minutes."),
    ("Where to find your licence keys", "Licences and billing", "customers", "published",
     "Licence keys are listed under **Licences** for your organisation's admins. Each key "
     "shows the product, the seats and the renewal date."),
    ("Moving a licence to a new server", "Licences and billing", "customers", "published",
     "Deactivate the licence on the old server with `nwlic release`, then activate it on the "
     "new one. A licence can move three times a year; contact support for more."),
    ("Reading your invoice", "Licences and billing", "public", "published",
     "Invoices list subscriptions by period. Prorated lines appear when seats were added "
     "mid-term. Prices are shown without tax; tax is added per line at your country's rate."),
    ("Renewing a subscription", "Licences and billing", "public", "published",
     "We remind you 60 and 30 days before renewal. If you bought through a partner, they "
     "send the renewal quote; otherwise renew under **Licences → Renew**."),
    ("Collecting logs for support", "Troubleshooting", "public", "published",
     "Run `nwdiag collect` on the affected server. It writes a zip file with logs and "
     "configuration, with passwords removed. Attach it to your case."),
    ("Error 0x80070005 when installing the agent", "Troubleshooting", "public", "published",
     "Access denied: run the installer as an administrator, and exclude the installer from "
     "real-time scanning by your antivirus while it runs."),
    ("The portal says my session expired", "Troubleshooting", "public", "published",
     "Sessions end after 12 hours, or when you sign out on another device and choose to "
     "end all sessions. Sign in again; nothing you saved is lost."),
    ("Slow dashboard loading", "Troubleshooting", "public", "published",
     "Dashboards over many devices are slow in older browsers. Use a current Chrome, Edge, "
     "Firefox or Safari, and narrow the time range."),
    ("Time sync drift on the NW-FW200", "Troubleshooting", "customers", "published",
     "Certificates fail to validate when the clock drifts. Configure at least two NTP "
     "servers under **System → Time** and check the status shows *synchronised*."),
    ("Registering a deal", "Partner programme", "partners", "published",
     "Register deals under **Deal registrations → Register a deal** before you quote. "
     "Approved registrations are protected for your tier's protection period."),
    ("Partner tiers and discounts", "Partner programme", "partners", "published",
     "Registered partners get 5%, Silver 10%, Gold 15% and Platinum 20% off list price. "
     "Tiers are reviewed every quarter on certified staff and revenue."),
    ("Following your customers' cases", "Partner programme", "partners", "published",
     "As the partner that manages a customer, you see its cases read only, and its admins "
     "can add you as a watcher so you receive the replies by email."),
    ("Answering lead offers in time", "Partner programme", "partners", "published",
     "Offers must be accepted or declined within 16 business hours. We remind you four "
     "hours before the deadline; unanswered offers go to the next partner."),
    ("Triage checklist for new cases", "Support runbooks", "internal", "published",
     "1. Check the priority against the customer's description.\n2. Link known issues.\n3. "
     "Reply publicly within the first-response target; internal notes do not count."),
    ("Escalating to engineering", "Support runbooks", "internal", "published",
     "Set the case *on hold*, add an internal note with the engineering ticket number, and "
     "tell the customer what happens next in a public reply."),
    ("Known issue: firmware 5.3 beta LEDs", "Support runbooks", "internal", "draft",
     "Draft: waiting for engineering's confirmation before publishing."),
    ("Configuring IPv6 on the NW-SW48", "Networking", "public", "draft",
     "Draft: IPv6 router advertisement settings for the 5.3 firmware."),
]  # fmt: skip

# Editors' choices for the front page ("Featured"): two public articles every reader may read.
PROMOTED = {"How to raise a support case", "Reset a forgotten password"}


def seed_help_centre(session, orgs) -> int:
    existing = set(session.scalars(select(Article.title)))
    if len(existing) >= len(ARTICLES):
        return 0
    added = 0
    categories = {c.name: c for c in session.scalars(select(ArticleCategory))}
    for position, (name, description) in enumerate(CATEGORIES):
        if name not in categories:
            categories[name] = ArticleCategory(
                name=name, description=description, position=position * 10
            )
            session.add(categories[name])
            added += 1
    session.flush()
    now = utcnow()
    for index, (title, category, audience, status, body) in enumerate(ARTICLES):
        if title in existing:
            continue
        when = now - timedelta(days=60 - index)
        article = Article(
            title=title,
            body=body,
            category_id=categories[category].id,
            audience=audience,
            status=status,
            created_at=when,
            updated_at=when,
            published_at=when if status == "published" else None,
            promoted=title in PROMOTED,
        )
        session.add(article)
        session.flush()
        for n in range((index * 7) % 23 + 3):
            session.add(ArticleEvent(article_id=article.id, kind="view", voter=f"visitor:demo{n}"))
        if status == "published":
            session.add(
                ArticleVote(article_id=article.id, voter="visitor:demo1", helpful=index % 4 != 0)
            )
            if index % 3 == 0:
                session.add(ArticleEvent(article_id=article.id, kind="case_avoided"))
        added += 1
    return added
