"""The channel: programs and tiers, leads, deal registration, quotes and the catalogue.

Its blueprints arrive with the channel issue; ``create_app`` registers what ``BLUEPRINTS`` lists.
"""

BLUEPRINTS: tuple = ()
