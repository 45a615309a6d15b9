"""CSAT: a one-question survey (1 to 5, optional comment) after a case is solved."""
