"""Demo help centre (filled in below)."""
