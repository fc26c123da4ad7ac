"""Read queries of the Partner Dashboard about studios. Partner selectors take the studio first."""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db.models import QuerySet, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone

from .models import (
    AuditEntry,
    ClassSession,
    ClassType,
    EarningEntry,
    EarningKind,
    Instructor,
    Schedule,
    StaffMembership,
    StaffRole,
    Studio,
)
from .services import local_to_utc


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


def name_audit_subjects(studio: Studio, entries) -> None:
    """Give each entry a `subject`: its target as the studio knows it. A schedule or a class is
    stored by its id ("schedule:12", "session:345"), which nobody at the studio knows; it reads
    as its class type and its days and time, or its start, in the studio's time. Two queries at
    most, whatever the page holds; a target that names nothing found stays as stored."""
    entries = list(entries)
    wanted: dict[str, set[int]] = {"schedule": set(), "session": set()}
    for entry in entries:
        kind, _, pk = entry.target.partition(":")
        if kind in wanted and pk.isdigit():
            wanted[kind].add(int(pk))
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
    for entry in entries:
        entry.subject = names.get(entry.target, entry.target)


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
