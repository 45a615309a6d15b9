"""NPS campaigns and the answers to them, reached through signed links (``feedback.links``)."""
