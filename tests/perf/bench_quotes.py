"""Benchmark: the PDF of a two-page quote.

Run from the project root (not collected by pytest)::

    .venv/bin/python -m tests.perf.bench_quotes [--downloads 50] [--bare-runs 5]

One run, in a temporary directory (SQLite, migrations + the demo world), all in-process:

1. builds ``--bare-runs`` draft quotes for a demo customer whose PDF has exactly two pages
   (checked with pypdf);
2. and 3., in turns, so that both see the same load on the machine: renders the quote's HTML
   with WeasyPrint *bare* (``HTML(string=...).write_pdf()``, the same HTML with the portal's
   stylesheet inlined, and the same fonts, no portal code around it), then sends one of the
   quotes through the page (``POST /quotes/<id>/send``): the portal's first render of the sent
   version, which it stores with its SHA-256, timed as a whole (the rules, pricing, the render,
   the notifications). One warm-up render of a trivial document comes first, so that neither
   side pays WeasyPrint's start-up. The portal's render path alone (template + WeasyPrint) is
   also timed ``--bare-runs`` times;
4. downloads the PDF ``--downloads`` times as the customer (``GET /quotes/<id>/pdf``), each
   served from storage, checks every download is the stored document, and prints latencies and
   the ratios: first render / bare WeasyPrint, and download / first render.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import re
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:8.1f} ms"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--downloads", type=int, default=50)
    parser.add_argument("--bare-runs", type=int, default=5)
    parser.add_argument("--lines", type=int, default=14, help="lines of the quote (two pages)")
    args = parser.parse_args(argv)
    import logging

    logging.getLogger("portal.mail").setLevel(logging.WARNING)  # the demo world's own emails

    from pypdf import PdfReader
    from sqlalchemy import select
    from weasyprint import HTML

    from portal.app import create_app
    from portal.clock import utcnow
    from portal.db import db, set_principal, unscoped
    from portal.identity.models import Organization, User
    from portal.seed import DEMO_PASSWORD, seed_demo_world
    from portal.tenancy import Principal
    from tests.conftest import reset_schema

    with tempfile.TemporaryDirectory(prefix="bench-quotes-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        reset_schema(url)
        app = create_app(
            {
                "PORTAL_ENV": "testing",
                "TESTING": True,
                "SECRET_KEY": "bench-quotes",
                "DATABASE_URL": url,
                "WTF_CSRF_ENABLED": False,
                "SMTP_URL": None,
                "REDIS_URL": None,
                "SERVER_NAME": None,
            }
        )
        with app.app_context():
            seed_demo_world()

        from partners.quotes import documents, services

        # 1. A draft quote of two pages.
        with app.test_request_context():
            with unscoped():
                seller = db.session.scalar(
                    select(User).where(User.email == "sales@northwind.example")
                )
                granite = db.session.scalar(
                    select(Organization).where(Organization.name == "Granite Bank")
                )
            actor = Principal.for_user(seller)
            set_principal(db.session, actor)
            quote_ids = []
            for _ in range(args.bare_runs):
                quote = services.create_quote(
                    granite,
                    {
                        "title": "Benchmark: campus network",
                        "valid_until": (utcnow() + timedelta(days=30)).date(),
                        "terms": "Payment 30 days net.\n\n" + "Standard terms apply. " * 20,
                        "cover_letter": "Dear Granite Bank team,\n\n" + "Thank you. " * 40,
                        "scope": "- Delivery\n- Installation\n- Training",
                        "timeline": "1. Order\n2. Delivery\n3. Go-live",
                    },
                    currency="EUR",
                    actor=actor,
                )
                services.add_line(quote, sku="NW-PSU-R", quantity=4, actor=actor)
                for n in range(args.lines - 1):
                    services.add_line(quote, sku="NW-AP7", quantity=1 + n, actor=actor)
                db.session.commit()
                quote_ids.append(quote.id)
            quote_id = quote_ids[0]
            quote = db.session.get(type(quote), quote_id)
            html = documents.html_of(quote, draft=False)
            pages = len(PdfReader(io.BytesIO(documents.render_pdf(html))).pages)
        if pages != 2:
            print(f"the quote has {pages} pages, not 2: change --lines", file=sys.stderr)
            return 1

        # 2 and 3, in turns (so that both see the same load on the machine): WeasyPrint bare on
        # the same HTML, its stylesheet inlined, and the portal's first render of one quote,
        # sending it through the page. A warm-up render first, so neither pays the start-up.
        HTML(string="<p>warm-up</p>").write_pdf()
        base_url = documents.FONTS.as_uri() + "/"
        html = html.replace("<style>", "<style>\n" + documents.STYLESHEET.read_text(), 1)
        vendor = app.test_client()
        vendor.post("/login", data={"email": seller.email, "password": DEMO_PASSWORD})
        bare, firsts = [], []
        profile = None
        for n, sent_id in enumerate(quote_ids):
            started = time.perf_counter()
            HTML(string=html, base_url=base_url).write_pdf()
            bare.append(time.perf_counter() - started)

            page = vendor.get(f"/quotes/{sent_id}").get_data(as_text=True)
            token = re.search(r'name="snapshot" type="hidden" value="([^"]*)"', page).group(1)
            if n == 0 and os.environ.get("BENCH_PROFILE"):
                import cProfile

                profile = cProfile.Profile()
                profile.enable()
            started = time.perf_counter()
            response = vendor.post(f"/quotes/{sent_id}/send", data={"snapshot": token})
            firsts.append(time.perf_counter() - started)
            if profile is not None:
                profile.disable()
                profile.dump_stats(os.environ["BENCH_PROFILE"])
                profile = None
            assert response.status_code == 302, response.status_code
        first = statistics.median(firsts)
        with app.test_request_context():
            set_principal(db.session, Principal.for_user(seller))
            from partners.quotes.models import Quote

            sent = db.session.get(Quote, quote_id)
            assert sent.status == "sent" and sent.pdf_sha256
            stored_hash = sent.pdf_sha256
            render_path = []
            for _ in range(args.bare_runs):
                started = time.perf_counter()
                documents.quote_pdf(sent, draft=False)
                render_path.append(time.perf_counter() - started)

        # 4. Downloads, from storage, as the customer.
        customer = app.test_client()
        customer.post("/login", data={"email": "admin@granite.example", "password": DEMO_PASSWORD})
        downloads = []
        for _ in range(args.downloads):
            started = time.perf_counter()
            response = customer.get(f"/quotes/{quote_id}/pdf")
            downloads.append(time.perf_counter() - started)
            assert response.status_code == 200
            assert hashlib.sha256(response.data).hexdigest() == stored_hash

    bare_median = statistics.median(bare)
    download_median = statistics.median(downloads)
    print(f"two-page quote, {args.lines} lines, Python {sys.version.split()[0]}, pid {os.getpid()}")
    print(f"WeasyPrint bare, same HTML     median {_ms(bare_median)} (of {len(bare)})")
    print(
        f"portal render path (template + WeasyPrint) median {_ms(statistics.median(render_path))}"
    )
    print(f"portal first render (POST send, stored) median {_ms(first)} (of {len(firsts)})")
    print(
        f"downloads from storage          median {_ms(download_median)}  "
        f"p95 {_ms(sorted(downloads)[int(len(downloads) * 0.95) - 1])} (of {len(downloads)})"
    )
    print(f"ratio first render / bare WeasyPrint: {first / bare_median:6.2f}")
    print(
        f"ratio render path / bare WeasyPrint:  {statistics.median(render_path) / bare_median:6.2f}"
    )
    print(f"ratio download / first render:        {download_median / first:6.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
