"""Feedback: satisfaction surveys, NPS campaigns and the ideas board.

Its blueprints arrive with the feedback issue; ``create_app`` registers what ``BLUEPRINTS`` lists.
"""

BLUEPRINTS: tuple = ()
