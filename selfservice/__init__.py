"""Self-service: cases with SLAs, the knowledge base and answer suggestions.

Each part is a sub-package with the same files (models, services, queries, forms, views, api);
``BLUEPRINTS`` is what the app factory registers. Importing a part's ``views`` adds its entries
to the navigation, and its ``api`` its resources to the API.
"""

from selfservice.cases import api as cases_api  # noqa: F401  (adds its API resources)
from selfservice.cases.views import bp as cases_bp
from selfservice.kb.views import bp as kb_bp

BLUEPRINTS = (cases_bp, kb_bp)
