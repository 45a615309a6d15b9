"""Mail in: replies by email become comments, mail to the support address opens cases.

``tokens`` (signed reply addresses), ``targets`` (what mail can be about, and the outgoing
mail's threading and Reply-To), ``parse`` (one email: sender, text without quoted history,
files, automatic or not), ``services`` (take one in, in one transaction, as its sender),
``smtp`` and ``imap`` (the two ways in), ``cli`` (``flask mail-in``).
"""
