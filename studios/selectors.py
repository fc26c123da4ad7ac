"""Read queries of the Partner Dashboard about studios. Partner selectors take the studio first."""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db.models import QuerySet, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone

from .models import (
    AuditEntry,
    Category,
    ClassSession,
    ClassType,
    EarningEntry,
    EarningKind,
    Instructor,
    Schedule,
    StaffMembership,
    StaffRole,
    Studio,
    Weekday,
)
from .services import local_to_utc
from .templatetags.money import format_money


def month_bounds(studio: Studio, year: int, month: int) -> tuple[datetime, datetime]:
    """[start, end) of a calendar month in the studio's timezone, as UTC instants."""
    tz = studio.market.tzinfo
    first = date(year, month, 1)
    following = date(year + (month == 12), month % 12 + 1, 1)
    return local_to_utc(first, time(0), tz), local_to_utc(following, time(0), tz)


def current_month(studio: Studio) -> tuple[int, int]:
    today = timezone.localdate(timezone=studio.market.tzinfo)
    return today.year, today.month


# Statements start here; no studio earned before the marketplace existed.
FIRST_STATEMENT_MONTH = (2020, 1)


def is_statement_month(studio: Studio, year: int, month: int) -> bool:
    """A month with a statement to show: a real month, not before the first, not in the future
    (which has nothing yet, and whose neighbours' dates could leave the calendar)."""
    return 1 <= month <= 12 and FIRST_STATEMENT_MONTH <= (year, month) <= current_month(studio)


def schedules(studio: Studio) -> QuerySet[Schedule]:
    return (
        Schedule.objects.filter(studio=studio)
        .select_related("class_type", "instructor")
        .order_by("local_start_time", "pk")
    )


def schedule_for_studio(studio: Studio, schedule_id: int) -> Schedule | None:
    return (
        Schedule.objects.filter(studio=studio, pk=schedule_id)
        .select_related("studio__market")
        .first()
    )


def session_for_studio(studio: Studio, session_id: int) -> ClassSession | None:
    return (
        ClassSession.objects.filter(studio=studio, pk=session_id)
        .select_related("studio__market", "class_type", "instructor")
        .first()
    )


def upcoming_sessions(studio: Studio, *, days: int = 14) -> QuerySet[ClassSession]:
    now = timezone.now()
    return (
        ClassSession.objects.filter(
            studio=studio, starts_at__gte=now, starts_at__lt=now + timedelta(days=days)
        )
        .select_related("class_type", "instructor")
        .order_by("starts_at")
    )


def class_types_of(studio: Studio) -> QuerySet[ClassType]:
    """All of the studio's class types, retired ones too (the catalog page marks them)."""
    return ClassType.objects.filter(studio=studio).order_by("name")


def instructors_of(studio: Studio) -> QuerySet[Instructor]:
    return Instructor.objects.filter(studio=studio).order_by("name")


def catalog_item(studio: Studio, model, item_id: int):
    """One of the studio's class types or instructors; None for another studio's."""
    return model.objects.filter(studio=studio, pk=item_id).first()


def team(studio: Studio) -> list[StaffMembership]:
    """The studio's staff: owners first, then managers, then the front desk, by e-mail."""
    order = {role: n for n, role in enumerate(StaffRole.values)}
    members = StaffMembership.objects.filter(studio=studio).select_related("user")
    return sorted(members, key=lambda m: (order[m.role], m.user.email))


def team_member(studio: Studio, membership_id: int) -> StaffMembership | None:
    """One person on the studio's team, with their account; None if not on this team."""
    return (
        StaffMembership.objects.filter(studio=studio, pk=membership_id)
        .select_related("user")
        .first()
    )


def audit_log(studio: Studio) -> QuerySet[AuditEntry]:
    return (
        AuditEntry.objects.filter(studio=studio)
        .select_related("user")
        .order_by("-created_at", "-pk")
    )


# How the audit log names what changed, where the stored key does not read well on its own;
# any other key reads as its words ("network_spots": "Network spots"). The Premium keys are
# here too: the premium app writes its settings' changes to this log.
AUDIT_LABELS = {
    "capacity": "Room",
    "credit_price": "Credits",
    "studio_booked": "Studio bookings",
    "weekdays": "Days",
    "local_start_time": "Start time",
    "duration_minutes": "Minutes",
    "starts_at": "Starts",
    "is_active": "Offered",
    "cancellation_window_hours": "Free cancellation (hours before)",
    "booking_cutoff_minutes": "Booking cutoff (minutes before)",
    "payout_rate_cents": "Payout rate",
    "enabled": "Premium",
    "price_cents": "Premium price",
    "max_spots": "Premium spots a class",
    "a_la_carte_enabled": "À la carte",
    "smartspot_enabled": "SmartSpot",
    "smartspot_cap": "SmartSpot cap",
}


@dataclass(frozen=True)
class AuditChange:
    label: str
    before: str
    after: str


def present_audit_entries(studio: Studio, entries) -> None:
    """Ready a page of the audit log for people: each entry gets a `subject`, its target as
    the studio knows it, and `rows`, its changes as AuditChange (labels, money in the
    market's currency, days and times in words, instructors and class types by name).

    A schedule or a class is stored by its id ("schedule:12", "session:345"), which nobody
    at the studio knows; it reads as its class type and its days and time, or its start, in
    the studio's time. At most four queries, whatever the page holds; a target or an id that
    names nothing found reads as stored."""
    entries = list(entries)
    wanted: dict[str, set[int]] = {
        "schedule": set(),
        "session": set(),
        "instructor_id": set(),
        "class_type_id": set(),
    }
    for entry in entries:
        kind, _, pk = entry.target.partition(":")
        if kind in wanted and pk.isdigit():
            wanted[kind].add(int(pk))
        for key in ("instructor_id", "class_type_id"):
            for value in (entry.before.get(key), entry.after.get(key)):
                if isinstance(value, int):
                    wanted[key].add(value)
    names = {}
    if wanted["schedule"]:
        for schedule in Schedule.objects.filter(
            studio=studio, pk__in=wanted["schedule"]
        ).select_related("class_type"):
            names[f"schedule:{schedule.pk}"] = str(schedule)
    if wanted["session"]:
        tz = studio.market.tzinfo
        for session in ClassSession.objects.filter(
            studio=studio, pk__in=wanted["session"]
        ).select_related("class_type"):
            start = timezone.localtime(session.starts_at, tz)
            names[f"session:{session.pk}"] = f"{session.class_type} {start:%a %-d %b %Y, %H:%M}"
    ids = {}
    for key, model in (("instructor_id", Instructor), ("class_type_id", ClassType)):
        if wanted[key]:
            ids[key] = dict(
                model.objects.filter(studio=studio, pk__in=wanted[key]).values_list("pk", "name")
            )
    for entry in entries:
        kind, _, name = entry.target.partition(":")
        # Premium's class-type prices are kept by the class type's name.
        entry.subject = name if kind == "class type" else names.get(entry.target, entry.target)
        entry.rows = [
            AuditChange(
                _audit_label(key),
                _audit_value(studio, key, old, ids),
                _audit_value(studio, key, new, ids),
            )
            for key, old, new in entry.changes
        ]


def _audit_label(key: str) -> str:
    if key in AUDIT_LABELS:
        return AUDIT_LABELS[key]
    return key.removesuffix("_id").replace("_", " ").capitalize()


def _audit_value(studio: Studio, key: str, value, ids: dict) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if key in ids and isinstance(value, int):
        return ids[key].get(value, str(value))
    if key.endswith("_cents") and isinstance(value, int):
        return format_money(value, studio.market.currency)
    if key == "weekdays" and isinstance(value, list):
        return ", ".join(Weekday(d).label for d in sorted(value) if d in Weekday.values)
    if key == "role" and value in StaffRole.values:
        return StaffRole(value).label
    if key == "category" and value in Category.values:
        return Category(value).label
    if isinstance(value, str):
        return _audit_moment(studio, value)
    return str(value)


def _audit_moment(studio: Studio, text: str) -> str:
    """An ISO date, time or date and time as the rest of the dashboard writes them (a moment
    in the studio's time); any other text as it is."""
    try:
        if "T" in text:
            moment = datetime.fromisoformat(text)
            if moment.tzinfo is not None:
                moment = timezone.localtime(moment, studio.market.tzinfo)
            return f"{moment:%a %-d %b %Y, %H:%M}"
        if len(text) == 10 and text[4] == "-":
            return f"{date.fromisoformat(text):%-d %b %Y}"
        if len(text) in (5, 8) and text[2] == ":":
            return f"{time.fromisoformat(text):%H:%M}"
    except ValueError:
        pass
    return text


def earnings_in_month(studio: Studio, year: int, month: int) -> QuerySet[EarningEntry]:
    start, end = month_bounds(studio, year, month)
    return (
        EarningEntry.objects.filter(studio=studio, occurred_at__gte=start, occurred_at__lt=end)
        .select_related("session__class_type")
        .order_by("occurred_at", "pk")
    )


@dataclass
class Statement:
    """A month's payout statement. Amounts in minor units of the market's currency.

    A month that ends below zero (Spotlight fees above earnings) pays nothing and carries the
    difference into the next month's opening balance; a month that ends above zero is paid in
    full by the 15th of the following month.
    """

    studio: Studio
    year: int
    month: int
    opening_cents: int
    by_kind: dict[str, int] = field(default_factory=dict)

    @property
    def month_cents(self) -> int:
        return sum(self.by_kind.values())

    @property
    def earnings_cents(self) -> int:
        return sum(v for k, v in self.by_kind.items() if k != EarningKind.SPOTLIGHT)

    @property
    def spotlight_cents(self) -> int:
        return self.by_kind.get(EarningKind.SPOTLIGHT, 0)

    @property
    def balance_cents(self) -> int:
        return self.opening_cents + self.month_cents

    @property
    def payable_cents(self) -> int:
        return max(0, self.balance_cents)

    @property
    def carried_cents(self) -> int:
        return min(0, self.balance_cents)

    @property
    def payable_by(self) -> date:
        return date(self.year + (self.month == 12), self.month % 12 + 1, 15)

    @property
    def lines(self) -> list[tuple[str, int]]:
        return [(EarningKind(k).label, v) for k, v in sorted(self.by_kind.items())]


def statement(studio: Studio, year: int, month: int) -> Statement:
    """The month's statement from two grouped queries over the ledger, whatever its size."""
    start, end = month_bounds(studio, year, month)
    tz = studio.market.tzinfo
    before = (
        EarningEntry.objects.filter(studio=studio, occurred_at__lt=start)
        .annotate(m=TruncMonth("occurred_at", tzinfo=tz))
        .values("m")
        .annotate(total=Sum("amount_cents"))
        .order_by("m")
    )
    opening = 0
    for row in before:
        opening = min(0, opening + row["total"])
    by_kind = dict(
        EarningEntry.objects.filter(studio=studio, occurred_at__gte=start, occurred_at__lt=end)
        .values("kind")
        .annotate(total=Sum("amount_cents"))
        .values_list("kind", "total")
    )
    return Statement(studio=studio, year=year, month=month, opening_cents=opening, by_kind=by_kind)
