"""Self-service: cases with SLAs, the knowledge base and answer suggestions.

Its blueprints arrive with the self-service issue; ``create_app`` registers what ``BLUEPRINTS``
lists.
"""

BLUEPRINTS: tuple = ()
