"""Who is asking: the signed-in user as handlers see it (not the ORM row)."""

from __future__ import annotations

from dataclasses import dataclass

from portal.accounts.models import Role, User


@dataclass(frozen=True, slots=True)
class Viewer:
    id: str
    email: str
    name: str
    role: Role
    customer_id: str | None

    @classmethod
    def of(cls, user: User) -> Viewer:
        return cls(user.id, user.email, user.name, Role(user.role), user.customer_id)

    @property
    def is_staff(self) -> bool:
        return self.role is not Role.CUSTOMER
