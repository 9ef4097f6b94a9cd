"""Users and their server-side sessions.

A user is global (one e-mail address, one password) and belongs to
organizations through memberships. A login creates a `UserSession` row; the
browser holds only its random token (signed into the cookie). Logging out,
changing the password or being deactivated revokes rows here, so a cookie
captured earlier stops working at once, on every device.
"""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.core.clock import now
from webapp.extensions import db


class User(db.Model):
    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    password_hash: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(default=now)
    password_changed_at: Mapped[datetime] = mapped_column(default=now)

    memberships = relationship("Membership", back_populates="user", lazy="selectin",
                               foreign_keys="Membership.user_id")

    #: The token of the session this object was loaded through (not a column).
    session_token = None

    # Flask-Login protocol
    is_authenticated = True
    is_anonymous = False

    @property
    def is_active(self) -> bool:
        return True

    def get_id(self) -> str | None:
        # Flask-Login stores this in the cookie; it is the session token, not
        # the user id, so revoking the session row logs the cookie out.
        return self.session_token

    def __repr__(self):
        return f"<User {self.id} {self.email}>"


class UserSession(db.Model):
    """One signed-in browser. Only the SHA-256 of its token is stored."""

    __tablename__ = "user_session"
    __table_args__ = (sa.Index("ix_user_session_user_live", "user_id", "revoked_at"),)

    token_hash: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=now)
    expires_at: Mapped[datetime]
    remember: Mapped[bool] = mapped_column(default=False)
    revoked_at: Mapped[datetime | None]
    ip: Mapped[str | None] = mapped_column(sa.String(64))
    user_agent: Mapped[str | None] = mapped_column(sa.String(300))

    user = relationship(User, lazy="joined")
