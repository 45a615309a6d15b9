"""What mail-in has already taken in: one row per accepted message, so that the same message
delivered twice (an SMTP client that retries after a lost answer, an IMAP message read again
after a crash before it was marked) becomes one comment, not two."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from portal.clock import utcnow
from portal.db import Base, global_table


@global_table(
    "mail-in's memory of the messages it accepted, read before anyone is identified; it holds "
    "a hash of each Message-ID and nothing of the message or its sender"
)
class ReceivedMail(Base):
    __tablename__ = "received_mail"

    id: Mapped[int] = mapped_column(primary_key=True)
    # sha256 of the Message-ID as sent (hex): enough to know it again, nothing to read.
    message_key: Mapped[str] = mapped_column(String(64), unique=True)
    # What it became: "case", "case_reply", "idea_comment".
    outcome: Mapped[str] = mapped_column(String(20))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
