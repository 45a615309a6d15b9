"""Demo cases (filled in below)."""
