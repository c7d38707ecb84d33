"""Reading HTML forms: every field as text, problems collected per field for the page.

Pages re-render the form with what was typed and a message beside each bad field,
rather than answering a malformed form with a bare 400.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from litestar import Request

MAX_FIELD = 10_000  # no legitimate field is longer; a longer one is refused, not stored
MAX_WHOLE = 2**31 - 1  # the database's integer (PostgreSQL's is 32 bits)
_WHOLE = re.compile(r"-?[0-9]{1,12}")


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

    def whole(
        self,
        name: str,
        *,
        minimum: int = 0,
        maximum: int = MAX_WHOLE,
        required: str | None = None,
    ) -> int | None:
        raw = self.values.get(name, "").strip()
        if not raw:
            if required:
                self.errors[name] = required
            return None
        # ASCII digits only: str.isdigit() also takes "²", which int() refuses.
        if not _WHOLE.fullmatch(raw) or not minimum <= int(raw) <= maximum:
            self.errors[name] = f"a whole number from {minimum} to {maximum}"
            return None
        return int(raw)

    @property
    def ok(self) -> bool:
        return not self.errors


FORM_ERROR = "_form"  # a problem with the whole form, not one field


async def read_form(request: Request[Any, Any, Any]) -> Form:
    data = await request.form()
    values: dict[str, str] = {}
    errors: dict[str, str] = {}
    for key, value in data.items():
        if isinstance(value, str) and key != "_csrf_token":
            values[key] = value[:MAX_FIELD]
            if "\x00" in value:  # PostgreSQL text cannot hold it
                errors[key] = "contains a NUL character"
    if not _utf8(await request.body(), request.headers.get("content-type", "")):
        # The parser would store U+FFFD for what it could not read: an address would be
        # saved garbled. Refused instead.
        errors[FORM_ERROR] = "the form was not sent as UTF-8 text"
    return Form(values, errors)


def _utf8(body: bytes, content_type: str) -> bool:
    """Whether an url-encoded form body decodes as UTF-8 (other bodies are not checked)."""
    if not content_type.startswith("application/x-www-form-urlencoded"):
        return True
    try:
        parse_qsl(body.decode("ascii"), keep_blank_values=True, errors="strict")
    except (UnicodeDecodeError, UnicodeEncodeError):
        return False
    return True
