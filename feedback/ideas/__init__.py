"""The ideas board: ideas shared by every customer and partner, votes, comments, statuses."""
