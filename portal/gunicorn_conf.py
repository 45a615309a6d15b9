"""gunicorn's settings for the portal: ``gunicorn -c python:portal.gunicorn_conf wsgi:app``.

gunicorn's own lines (starting, workers booted, timed out, exited) come from its master process,
which logs before, and outside, any app: without this they stay plain text while the portal's
lines are JSON. Here they take the portal's ``LOG_FORMAT`` (JSON by default in production), so a
log collector reads one format. Command-line flags still override anything set here.
"""

from __future__ import annotations

import os as _os

# Every name here that is one of gunicorn's settings is taken as that setting (a module named
# ``config`` would be the ``config`` setting): the imports are private names.
from portal.config import log_format as _log_format

_production = _os.environ.get("PORTAL_ENV", "development") == "production"

if _log_format(_os.environ, _production) == "json":
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "portal.observability.formatter", "log_format": "json"}},
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stderr",
            }
        },
        # The root logger's handler is the portal's own (portal.observability.init_logging), and
        # the portal writes its access lines itself: gunicorn's would say the same again.
        "root": {"level": "INFO", "handlers": []},
        "loggers": {
            "gunicorn.error": {"handlers": ["console"], "level": "INFO", "propagate": False},
            "gunicorn.access": {"handlers": [], "level": "INFO", "propagate": False},
        },
    }
