"""Reading HTML forms: every field as text, problems collected per field for the page.

Pages re-render the form with what was typed and a message beside each bad field,
rather than answering a malformed form with a bare 400.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from litestar import Request

MAX_FIELD = 10_000  # no legitimate field is longer; a longer one is refused, not stored


@dataclass
class Form:
    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)

    def text(self, name: str, *, required: str | None = None, limit: int = 200) -> str:
        value = self.values.get(name, "").strip()
        if required and not value:
            self.errors[name] = required
        elif len(value) > limit:
            self.errors[name] = f"at most {limit} characters"
        return value

    def whole(self, name: str, *, minimum: int = 0, required: str | None = None) -> int | None:
        raw = self.values.get(name, "").strip()
        if not raw:
            if required:
                self.errors[name] = required
            return None
        if not raw.lstrip("-").isdigit() or int(raw) < minimum:
            self.errors[name] = f"a whole number of at least {minimum}"
            return None
        return int(raw)

    @property
    def ok(self) -> bool:
        return not self.errors


async def read_form(request: Request[Any, Any, Any]) -> Form:
    data = await request.form()
    values: dict[str, str] = {}
    for key, value in data.items():
        if isinstance(value, str) and key != "_csrf_token":
            values[key] = value[:MAX_FIELD]
    return Form(values)
