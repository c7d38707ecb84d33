"""The typed, immutable plans a catalog is made of.

Every plan is one *version*: a price change is a new version, and a customer keeps the
version they bought unless a newer version says existing customers move on a date.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta
from typing import ClassVar
from zoneinfo import ZoneInfo

from plans.money import Money


class PlanKind(enum.StrEnum):
    SERVER_HOSTING = "server_hosting"
    APPLICATION_HOSTING = "application_hosting"
    SUPPORT = "support"
    SERVICE = "service"


class Interval(enum.StrEnum):
    MONTH = "month"
    YEAR = "year"
    HOUR = "hour"  # per-hour services: the amount is the hourly rate
    ONCE = "once"  # one-off packages

    @property
    def months(self) -> int:
        return {Interval.MONTH: 1, Interval.YEAR: 12}.get(self, 0)


class EarlyCancellation(enum.StrEnum):
    END_OF_TERM = "end_of_term"  # cancelling takes effect when the commitment ends
    PAY_REMAINING = "pay_remaining"  # ends now; the remaining months are invoiced at once
    FEE = "fee"  # ends now against a fixed fee


class Visibility(enum.StrEnum):
    PUBLIC = "public"
    HIDDEN = "hidden"  # not offered on the portal; an operator assigns it


class Weekday(enum.IntEnum):
    MON = 0
    TUE = 1
    WED = 2
    THU = 3
    FRI = 4
    SAT = 5
    SUN = 6


class SupportScope(enum.StrEnum):
    END_USER = "end_user"  # first-level support for the customer's end users
    USAGE = "usage"  # helping the customer use the product
    OPERATIONS = "operations"  # keeping the customer's system running


class CoverageHours(enum.StrEnum):
    BUSINESS_HOURS = "business_hours"
    ALWAYS = "always"


class UnusedHours(enum.StrEnum):
    EXPIRE = "expire"  # use it or lose it
    ROLLOVER = "rollover"


class ServiceCategory(enum.StrEnum):
    DEVELOPER_SERVICE = "developer_service"
    TRAINING = "training"


class ServiceBilling(enum.StrEnum):
    PER_HOUR = "per_hour"
    PACKAGE = "package"


@dataclass(frozen=True, slots=True)
class Commitment:
    months: int
    early_cancellation: EarlyCancellation
    early_cancellation_fee: Money | None = None


@dataclass(frozen=True, slots=True)
class Pricing:
    amount: Money
    interval: Interval
    trial_months: int = 0
    commitment: Commitment | None = None
    setup_fee: Money | None = None

    @property
    def currency(self) -> str:
        return self.amount.currency


@dataclass(frozen=True, slots=True)
class Availability:
    starts: date | None = None
    ends: date | None = None  # exclusive: the plan is no longer offered from this day

    def is_open(self, on: date) -> bool:
        return (self.starts is None or self.starts <= on) and (self.ends is None or on < self.ends)


@dataclass(frozen=True, slots=True)
class Resources:
    cpu_millis: int
    memory_mb: int
    disk_gb: int
    max_processes: int = 256

    @property
    def cpus(self) -> str:
        whole, millis = divmod(self.cpu_millis, 1000)
        return f"{whole}.{millis:03d}".rstrip("0").rstrip(".")


@dataclass(frozen=True, slots=True)
class Volume:
    name: str
    path: str


@dataclass(frozen=True, slots=True)
class Image:
    name: str
    version: str

    @property
    def reference(self) -> str:
        return f"{self.name}:{self.version}"


@dataclass(frozen=True, slots=True)
class Server:
    image: Image
    port: int = 22  # what the customer reaches the server on (published on loopback)


@dataclass(frozen=True, slots=True)
class Application:
    image: Image
    port: int
    health_check_path: str
    environment: tuple[tuple[str, str], ...] = ()
    volumes: tuple[Volume, ...] = ()

    @property
    def env(self) -> dict[str, str]:
        return dict(self.environment)


@dataclass(frozen=True, slots=True)
class MaintenanceWindow:
    days: tuple[Weekday, ...]
    start: time
    duration_minutes: int
    timezone: str = "UTC"

    def is_open(self, at: datetime) -> bool:
        """Whether ``at`` (timezone-aware) falls in a window, which may span midnight."""
        local = at.astimezone(ZoneInfo(self.timezone))
        # The window that could contain ``local`` opened today or on an earlier day.
        for days_back in range(self.duration_minutes // (24 * 60) + 2):
            day = local.date() - timedelta(days=days_back)
            if Weekday(day.weekday()) not in self.days:
                continue
            opens = datetime.combine(day, self.start, tzinfo=local.tzinfo)
            if opens <= local < opens + timedelta(minutes=self.duration_minutes):
                return True
        return False


@dataclass(frozen=True, slots=True)
class BackupPolicy:
    """How an instance's data is backed up: daily at ``daily_at`` (UTC) or every
    ``every_hours`` hours (exactly one is set), keeping the newest ``keep`` backups."""

    keep: int = 7
    daily_at: time | None = time(3, 0)
    every_hours: int | None = None


# A plan that says nothing is backed up daily at 03:00 UTC and keeps a week of backups.
DEFAULT_BACKUPS = BackupPolicy()


@dataclass(frozen=True, slots=True)
class Coverage:
    scopes: tuple[SupportScope, ...]
    hours: CoverageHours


@dataclass(frozen=True, slots=True)
class Rounding:
    """How logged minutes become billable minutes."""

    increment_minutes: int = 15
    minimum_minutes: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class FlatRate:
    model: str = field(default="flat_rate", init=False)
    extra_work_rate: Money | None = None  # agreed extra work, invoiced separately


@dataclass(frozen=True, slots=True, kw_only=True)
class PerHour:
    model: str = field(default="per_hour", init=False)
    hourly_rate: Money
    monthly_cap_minutes: int  # above this, entries wait for the customer's approval
    rounding: Rounding = Rounding()


@dataclass(frozen=True, slots=True)
class Rollover:
    max_minutes: int
    months: int  # rolled-over minutes expire after this many periods


@dataclass(frozen=True, slots=True, kw_only=True)
class HourBank:
    model: str = field(default="hour_bank", init=False)
    included_minutes: int  # per month, even on an annual fee
    overage_rate: Money
    rollover: Rollover | None = None  # None: unused hours expire
    rounding: Rounding = Rounding()

    @property
    def unused(self) -> UnusedHours:
        return UnusedHours.EXPIRE if self.rollover is None else UnusedHours.ROLLOVER


SupportTerms = FlatRate | PerHour | HourBank


@dataclass(frozen=True, slots=True)
class ServiceTerms:
    category: ServiceCategory
    billing: ServiceBilling
    rounding: Rounding = Rounding()
    package_minutes: int | None = None  # hours a package covers


@dataclass(frozen=True, slots=True)
class SourceRef:
    file: str
    line: int
    column: int = 1

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    kind: ClassVar[PlanKind]
    includes: ClassVar[tuple[str, ...]] = ()
    excludes: ClassVar[tuple[str, ...]] = ()

    id: str
    version: int
    name: str
    description: str = ""
    features: tuple[str, ...] = ()
    pricing: Pricing
    visibility: Visibility = Visibility.PUBLIC
    availability: Availability = Availability()
    # Holders of earlier versions move to this one on this date; None: they keep theirs.
    migrate_existing_from: date | None = None
    source: SourceRef = field(default=SourceRef("<memory>", 1), compare=False, repr=False)

    @property
    def key(self) -> tuple[str, int]:
        return (self.id, self.version)

    def describe(self) -> Mapping[str, object]:
        """Flat field → value view, used by ``plans show`` and ``plans diff``."""
        content = asdict(self)
        content.pop("source")
        return _flatten(content)


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerHostingPlan(Plan):
    kind: ClassVar[PlanKind] = PlanKind.SERVER_HOSTING
    includes = ("a server with fixed CPU, memory and disk",)
    excludes = ("server administration", "end-user support")
    server: Server
    resources: Resources
    backups: BackupPolicy = DEFAULT_BACKUPS


@dataclass(frozen=True, slots=True, kw_only=True)
class ApplicationHostingPlan(Plan):
    kind: ClassVar[PlanKind] = PlanKind.APPLICATION_HOSTING
    includes = ("running the application", "maintenance", "updates")
    application: Application
    resources: Resources
    maintenance: MaintenanceWindow
    backups: BackupPolicy = DEFAULT_BACKUPS


@dataclass(frozen=True, slots=True, kw_only=True)
class SupportPlan(Plan):
    kind: ClassVar[PlanKind] = PlanKind.SUPPORT
    terms: SupportTerms
    coverage: Coverage


@dataclass(frozen=True, slots=True, kw_only=True)
class ServicePlan(Plan):
    kind: ClassVar[PlanKind] = PlanKind.SERVICE
    terms: ServiceTerms


def _flatten(value: object, prefix: str = "") -> dict[str, object]:
    if isinstance(value, dict):
        flat: dict[str, object] = {}
        for key, item in value.items():
            flat.update(_flatten(item, f"{prefix}{key}."))
        return flat
    return {prefix.rstrip("."): value}
