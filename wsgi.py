"""WSGI entry point: ``gunicorn wsgi:app`` or ``flask --app wsgi run``."""

import sys

from portal.app import create_app
from portal.config import ConfigurationError

try:
    app = create_app()
except ConfigurationError as error:  # one line that says what to set, not a traceback
    sys.exit(f"portal: {error}")
