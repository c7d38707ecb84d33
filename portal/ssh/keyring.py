"""A customer's SSH keys: list, add (checked), remove."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from portal.ssh.keys import InvalidKey, parse_public_key
from portal.ssh.models import SshKey
from portal.ssh.repository import SshKeyRepository

MAX_KEYS = 50  # per customer: enough for a team, not a dumping ground
NAME_LIMIT = 100


class KeyRing:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], clock: Callable[[], datetime]
    ) -> None:
        self.sessions = sessions
        self.clock = clock

    async def keys(self, customer_id: str) -> list[SshKey]:
        async with self.sessions() as session:
            return await SshKeyRepository(session).of_customer(customer_id)

    async def add(self, customer_id: str, text: str, name: str = "") -> SshKey:
        """Raises InvalidKey (unreadable, unsupported, a private key, already added)."""
        parsed = parse_public_key(text)
        key = SshKey(
            id="k" + secrets.token_hex(8),
            customer_id=customer_id,
            name=(name.strip() or parsed.comment or parsed.algorithm)[:NAME_LIMIT],
            algorithm=parsed.algorithm,
            public_key=parsed.openssh,
            fingerprint=parsed.fingerprint,
            created_at=self.clock(),
        )
        duplicate = InvalidKey(f"you have added this key already ({parsed.fingerprint})")
        try:
            async with self.sessions() as session, session.begin():
                repo = SshKeyRepository(session)
                if await repo.holds(customer_id, parsed.fingerprint):
                    raise duplicate
                if len(await repo.of_customer(customer_id)) >= MAX_KEYS:
                    raise InvalidKey(f"at most {MAX_KEYS} keys; remove one you no longer use")
                repo.add(key)
        except IntegrityError:  # the same key added at the same moment in another tab
            raise duplicate from None
        return key

    async def remove(self, customer_id: str, key_id: str) -> bool:
        """False if the customer has no such key (someone else's reads the same)."""
        async with self.sessions() as session, session.begin():
            return await SshKeyRepository(session).remove(customer_id, key_id)
