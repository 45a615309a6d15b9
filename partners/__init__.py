"""The channel: the partner programme, leads and lead sharing, deal registration, the catalogue
and quotes.

Each part is a sub-package with the same files (models, services, queries, forms, views, api);
``BLUEPRINTS`` is what the app factory registers. Importing a part's ``views`` adds its entries
to the navigation, and its ``api`` its resources to the API.
"""

from partners.catalogue.views import bp as catalogue_bp
from partners.deals import api as deals_api  # noqa: F401  (adds its API resources)
from partners.deals.views import bp as deals_bp
from partners.leads.views import bp as leads_bp
from partners.program.views import bp as program_bp
from partners.quotes import api as quotes_api  # noqa: F401  (adds its API resources)
from partners.quotes.views import bp as quotes_bp

BLUEPRINTS = (program_bp, leads_bp, deals_bp, catalogue_bp, quotes_bp)
