"""Every query on users, API tokens and password resets."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from portal.accounts.models import ApiToken, PasswordReset, User


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

    async def count_role(self, role: str) -> int:
        count = await self.session.scalar(select(func.count()).where(User.role == role))
        return int(count or 0)

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
