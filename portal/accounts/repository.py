"""Every query on users, API tokens, password resets and web sessions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from portal.accounts.models import ApiToken, PasswordReset, User, WebSession


class AccountRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, row: User | ApiToken | PasswordReset) -> None:
        self.session.add(row)

    async def user(self, user_id: str) -> User | None:
        return await self.session.get(User, user_id)

    async def by_email(self, email: str) -> User | None:
        return await self.session.scalar(select(User).where(User.email == email))

    async def by_customer(self, customer_id: str) -> User | None:
        return await self.session.scalar(select(User).where(User.customer_id == customer_id))

    async def token(self, token_hash: str) -> tuple[ApiToken, User] | None:
        row = (
            await self.session.execute(
                select(ApiToken, User)
                .join(User, User.id == ApiToken.user_id)
                .where(ApiToken.token_hash == token_hash, ApiToken.revoked_at.is_(None))
            )
        ).first()
        return (row[0], row[1]) if row is not None else None

    async def reset(self, token_hash: str) -> PasswordReset | None:
        return await self.session.get(PasswordReset, token_hash, with_for_update=True)

    async def retire_resets(self, user_id: str, now: datetime) -> None:
        await self.session.execute(
            update(PasswordReset)
            .where(PasswordReset.user_id == user_id, PasswordReset.used_at.is_(None))
            .values(used_at=now)
        )

    async def resets_since(self, user_id: str, since: datetime) -> int:
        count = await self.session.scalar(
            select(func.count()).where(
                PasswordReset.user_id == user_id, PasswordReset.created_at >= since
            )
        )
        return int(count or 0)

    # Web sessions (portal.accounts.session_store writes them).

    async def web_sessions(self, user_id: str, now: datetime) -> list[WebSession]:
        query = (
            select(WebSession)
            .where(WebSession.user_id == user_id, WebSession.expires_at > now)
            .order_by(WebSession.last_seen_at.desc())
        )
        return list(await self.session.scalars(query))

    async def end_web_sessions(self, user_id: str, keep: str | None = None) -> int:
        query = delete(WebSession).where(WebSession.user_id == user_id)
        if keep is not None:
            query = query.where(WebSession.id != keep)
        result = await self.session.execute(query.execution_options(synchronize_session=False))
        return int(getattr(result, "rowcount", 0) or 0)
