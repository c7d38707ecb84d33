"""Issue 11: a customer's instance page showed operator internals (CLI commands, revisions,
"removed leftover revision", the engine's errors). The history is told in their words."""

from __future__ import annotations

from datetime import UTC, datetime

from portal.customer.instance_words import customer_events, status_words
from provisioner.models import Instance, InstanceEvent

AT = datetime(2026, 12, 7, 10, tzinfo=UTC)


def event(kind: str, message: str, actor: str = "system") -> InstanceEvent:
    return InstanceEvent(instance_id="i1", at=AT, kind=kind, message=message, actor=actor)


def test_the_history_hides_housekeeping_and_internals() -> None:
    told = customer_events(
        [
            event("created", "Application Starter (dockyard-demo:1)"),
            event("cleaned", "removed leftover revision 2"),
            event(
                "update_failed",
                "dockyard-demo:crash exited at once; dockyard-demo:1 keeps serving, nothing to "
                "roll back. Once the cause is fixed, retry with: dockyard instances update i1 "
                "--version crash",
            ),
            event("suspended", "subscription s1 is past_due", actor="billing"),
            event("suspended", "fraud check, ticket 4411", actor="ops@example.com"),
            event("terminated", "removed; data kept until 2027-01-06"),
        ]
    )
    texts = [e.text for e in told]
    assert texts == [
        "Ended. Your data is kept until 2027-01-06.",
        "Suspended by our team. Please contact support to know why.",
        "Suspended: a payment is overdue. Paying the open invoice resumes it.",
        "An update could not be applied; the version you had kept running. "
        "We are looking into it: nothing for you to do.",
        "Ordered.",
    ]
    assert not any(
        word in text for text in texts for word in ("dockyard", "revision", "ops@", "fraud")
    )


def test_the_status_says_why_without_the_operators_note() -> None:
    instance = Instance(
        id="i1", customer_ref="c1", plan_id="app-starter", plan_version=1, image="x",
        image_version="1", desired_state="stopped", state="stopped", revision=1,
        health="none", attempts=0, created_at=AT, updated_at=AT,
        suspension_reason="manual", reason="fraud check, ticket 4411",
    )  # fmt: skip
    assert status_words(instance) == "Suspended by our team. Please contact support to know why."
