"""Passwords, sign-in and server-side sessions."""
from __future__ import annotations

import functools
import hashlib
import secrets
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import joinedload
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from webapp.auth.models import User, UserSession
from webapp.core.clock import now
from webapp.core.errors import DomainError
from webapp.extensions import db

# argon2id with the library's RFC 9106 "low memory" defaults. The test suite
# (APP_ENV=testing) uses cheap parameters so that hundreds of sign-ups stay fast;
# hashes made with either verify under both.
_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("not-a-real-password-but-same-cost")


def use_cheap_hashing_for_tests() -> None:
    global _hasher, _DUMMY_HASH
    _hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    _DUMMY_HASH = _hasher.hash("not-a-real-password-but-same-cost")

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 256
SESSION_LIFETIME = timedelta(hours=12)
REMEMBER_LIFETIME = timedelta(days=30)
COMMON_PASSWORDS = {
    "password", "password1", "password123", "1234567890", "qwertyuiop", "123456789a",
    "letmein123", "iloveyou12", "welcome123", "admin12345", "abc1234567", "passw0rd12",
}


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def password_problem(password: str, email: str = "") -> str | None:
    """Why a new password is unacceptable, or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"Use at least {MIN_PASSWORD_LENGTH} characters."
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"Use at most {MAX_PASSWORD_LENGTH} characters."
    if password.lower() in COMMON_PASSWORDS or len(set(password)) < 4:
        return "That password is too easy to guess."
    if email and password.lower() == normalise_email(email):
        return "Do not use your e-mail address as your password."
    return None


def check_new_password(password: str, email: str = "", field: str = "password") -> None:
    problem = password_problem(password, email)
    if problem:
        raise DomainError(problem, field=field)


def verify_password(user: User | None, password: str) -> bool:
    if user is None:
        try:
            _hasher.verify(_DUMMY_HASH, password)
        except VerificationError:
            pass
        return False
    try:
        _hasher.verify(user.password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return True


def user_by_email(email: str) -> User | None:
    return db.session.scalars(sa.select(User).where(User.email == normalise_email(email))).first()


def create_user(email: str, name: str, password: str) -> User:
    email = normalise_email(email)
    if user_by_email(email) is not None:
        raise DomainError("An account with this e-mail address already exists. Log in instead.",
                          field="email")
    check_new_password(password, email)
    user = User(email=email, name=name.strip(), password_hash=hash_password(password))
    db.session.add(user)
    db.session.flush()
    return user


def authenticate(email: str, password: str) -> User:
    user = user_by_email(email)
    if not verify_password(user, password) or not any(m.active for m in user.memberships):
        # One message for every failure, so the form does not reveal which
        # addresses have accounts.
        raise DomainError("Wrong e-mail address or password, or the account is not active.",
                          field="password")
    return user


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(user: User, *, remember: bool = False, ip: str | None = None,
                  user_agent: str | None = None) -> str:
    """Create a server-side session; returns the token for the cookie."""
    token = secrets.token_urlsafe(32)
    lifetime = REMEMBER_LIFETIME if remember else SESSION_LIFETIME
    db.session.add(UserSession(token_hash=_hash_token(token), user_id=user.id,
                               expires_at=now() + lifetime, remember=remember, ip=ip,
                               user_agent=(user_agent or "")[:300] or None))
    db.session.flush()
    user.session_token = token
    return token


@functools.cache
def _session_statement(postgres: bool) -> sa.Select:
    """Built once: the statement runs on every request, before any organization is chosen (none of
    its tables belongs to one, so the tenancy check is told to skip it rather than search it).
    It returns the user of a live session (not revoked, not expired) with its memberships and
    their organizations, or nothing; the session row itself is not loaded.

    On PostgreSQL it also writes the row-level-security setting for the organization the browser
    last worked in, when the user is an active member of it (the request then needs no statement
    of its own for the setting): `set_config` returns what it wrote."""
    from webapp.orgs.models import Membership
    live = (UserSession.token_hash == sa.bindparam("token_hash"), UserSession.revoked_at.is_(None),
            UserSession.expires_at > sa.bindparam("now", type_=UserSession.expires_at.type))
    stmt = sa.select(User)
    if postgres:
        member = sa.orm.aliased(Membership)
        org = (sa.select(sa.cast(member.org_id, sa.String))
               .where(member.user_id == User.id, member.org_id == sa.bindparam("org_id"), member.active.is_(True))
               .scalar_subquery())
        # The name written out (not a parameter): core.tx tells the tenant's setting from a write by it.
        stmt = sa.select(User, sa.func.set_config(sa.literal_column("'app.org_id'"), sa.func.coalesce(org, ""), True))
    return (stmt.join(UserSession, UserSession.user_id == User.id).where(*live)
            .options(joinedload(User.memberships).joinedload(Membership.organization))
            .execution_options(all_tenants=True))


def load_session(token: str | None, org_id: int | None = None) -> User | None:
    """The user of a live session token, or None. `org_id`: the organization the browser worked in
    last (PostgreSQL's row-level-security setting is written for it if the user may)."""
    if not token or len(token) > 100:
        return None
    from webapp.core.tenancy import setting_written
    session = db.session()
    postgres = session.get_bind().dialect.name == "postgresql"
    # One round trip for the user, its memberships and organizations: this runs on every request.
    params = {"token_hash": _hash_token(token), "now": now()}
    if postgres:
        params["org_id"] = org_id if isinstance(org_id, int) and 0 < org_id < 2**63 else 0
    found = session.execute(_session_statement(postgres), params).unique().first()
    if found is None:
        return None
    if postgres:
        setting_written(session, found[1])
    user = found[0]
    user.session_token = token
    return user


def revoke_session(token: str | None) -> None:
    if not token:
        return
    db.session.execute(sa.update(UserSession)
                       .where(UserSession.token_hash == _hash_token(token),
                              UserSession.revoked_at.is_(None))
                       .values(revoked_at=now()))


def revoke_all_sessions(user_id: int, *, except_token: str | None = None) -> int:
    stmt = (sa.update(UserSession)
            .where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None)))
    if except_token:
        stmt = stmt.where(UserSession.token_hash != _hash_token(except_token))
    return db.session.execute(stmt.values(revoked_at=now())).rowcount


def change_password(user: User, current: str, new: str, confirm: str) -> None:
    if not verify_password(user, current):
        raise DomainError("Your current password is not right.", field="current_password")
    if new != confirm:
        raise DomainError("The two new passwords differ.", field="confirm")
    if new == current:
        raise DomainError("Choose a password different from the current one.", field="new_password")
    check_new_password(new, user.email, field="new_password")
    user.password_hash = hash_password(new)
    user.password_changed_at = now()
    # Every other browser is signed out; this one keeps working.
    revoke_all_sessions(user.id, except_token=user.session_token)
    db.session.flush()


def rename_user(user: User, name: str) -> None:
    name = (name or "").strip()
    if not name:
        raise DomainError("Enter your name.", field="name")
    user.name = name[:120]
    db.session.flush()
