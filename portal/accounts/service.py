"""Accounts: sign-up, sign-in, password resets, staff accounts and API tokens.

A customer's sign-up creates billing's customer first (which validates the email and
queues the Stripe customer), then the user that signs in as it.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from billing import BillingContext, Customers, DuplicateEmail, normalise_email
from portal.accounts.models import ApiToken, PasswordReset, Role, User, WebSession
from portal.accounts.passwords import hash_password, needs_rehash, password_problem, verify_password
from portal.accounts.repository import AccountRepository
from portal.accounts.throttle import lock_after
from portal.mail import Mailer

log = logging.getLogger(__name__)
RESET_LIFETIME = timedelta(hours=1)
# At most this many reset mails per address in a window, however often it is asked.
RESETS_PER_WINDOW = 3
RESET_WINDOW = timedelta(hours=1)


class SignInsWaiting(Exception):
    """Too many wrong passwords for the account: sign-ins wait ``wait`` more."""

    def __init__(self, wait: timedelta) -> None:
        super().__init__(f"too many wrong passwords for this account: wait {wait}")
        self.seconds = max(1, int(wait.total_seconds() + 0.999))


class AccountError(Exception):
    """A request about an account that cannot be honoured; the message says why."""


@dataclass(frozen=True, slots=True)
class SignUp:
    email: str
    password: str
    name: str
    company: str = ""
    currency: str = "EUR"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _new_id(prefix: str) -> str:
    return prefix + secrets.token_hex(6)


class Accounts:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        billing: BillingContext,
        mailer: Mailer,
        base_url: str,
    ) -> None:
        self.sessions = sessions
        self.billing = billing
        self.mailer = mailer
        self.base_url = base_url

    # -- customers ----------------------------------------------------------------------

    async def sign_up(self, form: SignUp) -> User:
        """Raises AccountError, or billing's InvalidCustomer / DuplicateEmail."""
        problem = password_problem(form.password)
        if problem:
            raise AccountError(f"password: {problem}")
        email = normalise_email(form.email)
        async with self.sessions() as session:
            if await AccountRepository(session).by_email(email) is not None:
                raise DuplicateEmail(email, None)
        customer = await Customers(self.billing).create(
            email, form.name, form.company, form.currency
        )
        user = User(
            id=_new_id("u"),
            email=email,
            name=customer.name,
            password_hash=hash_password(form.password),
            role=Role.CUSTOMER.value,
            customer_id=customer.id,
            created_at=self.billing.clock(),
        )
        return await self._insert(user)

    # -- staff --------------------------------------------------------------------------

    async def create_staff(
        self, email: str, role: Role, name: str = "", password: str | None = None
    ) -> tuple[User, str]:
        """An operator or finance user; returns it with its password (generated if None)."""
        if role is Role.CUSTOMER:
            raise AccountError("customers sign up on the portal; staff are operator or finance")
        password = password or secrets.token_urlsafe(12)
        problem = password_problem(password)
        if problem:
            raise AccountError(f"password: {problem}")
        email = normalise_email(email)
        user = User(
            id=_new_id("u"),
            email=email,
            name=name.strip() or email.split("@")[0],
            password_hash=hash_password(password),
            role=role.value,
            created_at=self.billing.clock(),
        )
        return await self._insert(user), password

    async def _insert(self, user: User) -> User:
        try:
            async with self.sessions() as session, session.begin():
                AccountRepository(session).add(user)
        except IntegrityError:
            raise DuplicateEmail(user.email, None) from None
        return user

    # -- signing in -----------------------------------------------------------------------

    async def authenticate(
        self, email: str, password: str, known: Callable[[str], bool] = lambda user_id: False
    ) -> User | None:
        """The user, if the password is right. Raises SignInsWaiting while the account's
        wrong passwords make sign-ins from browsers it does not ``known`` wait
        (portal.accounts.throttle)."""
        normal = email.strip().lower()
        now = self.billing.clock()
        async with self.sessions() as session, session.begin():
            repo = AccountRepository(session)
            user = await repo.by_email(normal)
            locked = user.signin_locked_until if user else None
            if user is not None and locked is not None and locked > now and not known(user.id):
                raise SignInsWaiting(locked - now)
            if not verify_password(user.password_hash if user else None, password):
                if user is not None:
                    user.failed_signins += 1
                    user.signin_locked_until = lock_after(user.failed_signins, now)
                return None
            assert user is not None
            if needs_rehash(user.password_hash):
                user.password_hash = hash_password(password)
            user.failed_signins, user.signin_locked_until = 0, None
            user.last_sign_in_at = now
            return user

    async def get(self, user_id: str) -> User | None:
        async with self.sessions() as session:
            return await AccountRepository(session).user(user_id)

    async def by_email(self, email: str) -> User | None:
        async with self.sessions() as session:
            return await AccountRepository(session).by_email(email.strip().lower())

    async def for_customer(self, customer_id: str) -> User | None:
        async with self.sessions() as session:
            return await AccountRepository(session).by_customer(customer_id)

    # -- sessions -------------------------------------------------------------------------

    async def sessions_of(self, user_id: str) -> list[WebSession]:
        """The browsers signed in to the account, most recently seen first."""
        async with self.sessions() as session:
            return await AccountRepository(session).web_sessions(user_id, self.billing.clock())

    async def sign_out_everywhere(self, user_id: str, keep: str | None = None) -> int:
        """End every session of the account (but ``keep``, a session key: the browser
        asking); returns how many ended."""
        async with self.sessions() as session, session.begin():
            return await AccountRepository(session).end_web_sessions(user_id, keep)

    # -- forgotten passwords --------------------------------------------------------------

    async def request_reset(self, email: str) -> None:
        """Mail a one-time link if the address has an account; silent otherwise, so the
        form does not tell strangers who is a customer. Raises MailFailed."""
        now = self.billing.clock()
        token = secrets.token_urlsafe(32)
        async with self.sessions() as session, session.begin():
            repo = AccountRepository(session)
            user = await repo.by_email(email.strip().lower())
            if user is None:
                return
            # A flood of requests for one address sends a few mails, not one each.
            if await repo.resets_since(user.id, now - RESET_WINDOW) >= RESETS_PER_WINDOW:
                log.info("password reset for %s not mailed: %d already this hour", user.id,
                         RESETS_PER_WINDOW)  # fmt: skip
                return
            await repo.retire_resets(user.id, now)
            repo.add(
                PasswordReset(
                    token_hash=_digest(token),
                    user_id=user.id,
                    created_at=now,
                    expires_at=now + RESET_LIFETIME,
                )
            )
            address = user.email
        link = f"{self.base_url}/password/reset?token={token}"
        await self.mailer.send(
            address,
            "Reset your Dockyard password",
            "Someone (hopefully you) asked to reset the password of your Dockyard account.\n\n"
            f"Choose a new one here within the hour:\n{link}\n\n"
            "If it was not you, ignore this mail: your password stays as it is.\n",
        )

    async def reset_is_valid(self, token: str) -> bool:
        async with self.sessions() as session:
            reset = await AccountRepository(session).reset(_digest(token))
            return reset is not None and self._usable(reset)

    async def reset_password(self, token: str, password: str) -> User:
        problem = password_problem(password)
        if problem:
            raise AccountError(f"password: {problem}")
        now = self.billing.clock()
        async with self.sessions() as session, session.begin():
            repo = AccountRepository(session)
            reset = await repo.reset(_digest(token))
            if reset is None or not self._usable(reset):
                raise AccountError("this reset link has expired or was used; ask for a new one")
            user = await repo.user(reset.user_id)
            assert user is not None
            user.password_hash = hash_password(password)
            await repo.retire_resets(user.id, now)
            # Whoever knew the old password is signed out everywhere.
            await repo.end_web_sessions(user.id)
            return user

    def _usable(self, reset: PasswordReset) -> bool:
        return reset.used_at is None and reset.expires_at > self.billing.clock()

    # -- API tokens -----------------------------------------------------------------------

    async def issue_token(self, user_id: str, name: str) -> str:
        """A new bearer token for ``/api/v1``, shown once; only its hash is kept."""
        token = "dy_" + secrets.token_urlsafe(32)
        async with self.sessions() as session, session.begin():
            repo = AccountRepository(session)
            user = await repo.user(user_id)
            if user is None or user.role == Role.CUSTOMER.value:
                raise AccountError("API tokens are for operator and finance users")
            repo.add(
                ApiToken(
                    id=_new_id("t"),
                    user_id=user_id,
                    name=name.strip() or "token",
                    token_hash=_digest(token),
                    created_at=self.billing.clock(),
                )
            )
        return token

    async def user_for_token(self, token: str) -> User | None:
        async with self.sessions() as session, session.begin():
            found = await AccountRepository(session).token(_digest(token))
            if found is None:
                return None
            api_token, user = found
            api_token.last_used_at = self.billing.clock()
            return user
