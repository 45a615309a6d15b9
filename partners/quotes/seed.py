"""Products with rules and quotes in several states for the demo world."""
