"""One log record, one line: what a user typed cannot forge a log line.

An operator's suspend reason, a customer's note or an e-mail address can hold a newline;
written raw, the rest reads as a separate record ("... INFO subscription s1 resumed").
Every record's message is therefore escaped (CR and LF as \\r and \\n) however it is
formatted and wherever it goes; tracebacks, kept apart from the message, stay readable.
"""

from __future__ import annotations

import logging


class OneLineRecord(logging.LogRecord):
    def getMessage(self) -> str:
        return super().getMessage().replace("\r", "\\r").replace("\n", "\\n")


def install() -> None:
    """Make every record of this process a one-line record (idempotent)."""
    logging.setLogRecordFactory(OneLineRecord)
