"""The baseline for the benchmark: a bare Flask app with one route and no extensions.

Served by gunicorn with the same settings as the portal (``tests.perf.bare_app:app``), it shows
what Flask, gunicorn, the loopback socket and the HTTP client cost on their own.
"""

from flask import Flask

MARKER = "Bare baseline"
PAGE = (
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Bare</title></head>'
    f"<body><h1>{MARKER}</h1><p>One route, no database, no templates.</p></body></html>"
)

app = Flask(__name__)


@app.get("/")
def index():
    return PAGE
