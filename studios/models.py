"""Markets, studios, their staff, schedules and class sessions, and the studio earnings ledger."""

import zoneinfo
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from .templatetags.money import format_money


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not a known IANA timezone.")


def validate_currency(value: str) -> None:
    """An ISO 4217 code of a currency divided into hundredths: every amount is kept, charged,
    paid out and shown in hundredths (cents), so a yen or a dinar would be off by 100 or 10."""
    # Imported here: it takes 30 ms, which every process would pay, and only forms validate.
    from babel.numbers import get_currency_precision, list_currencies

    if value not in list_currencies():
        raise ValidationError(f"{value!r} is not an ISO 4217 currency code.")
    if (digits := get_currency_precision(value)) != 2:
        raise ValidationError(
            f"{value} has {digits} decimal places; amounts are kept in hundredths, so only "
            "currencies with two decimal places are supported."
        )


class Category(models.TextChoices):
    YOGA = "yoga", "Yoga"
    CYCLING = "cycling", "Cycling"
    PILATES = "pilates", "Pilates"
    BOXING = "boxing", "Boxing"
    STRENGTH = "strength", "Strength"
    BARRE = "barre", "Barre"
    HIIT = "hiit", "HIIT"
    DANCE = "dance", "Dance"
    RUNNING = "running", "Running"
    MEDITATION = "meditation", "Meditation"


class Market(models.Model):
    """A city: its timezone, currency and the money value of one credit."""

    name = models.CharField(max_length=80, unique=True)
    slug = models.SlugField(max_length=80, unique=True)
    timezone = models.CharField(max_length=64, validators=[validate_timezone])
    currency = models.CharField(
        max_length=3,
        validators=[validate_currency],
        help_text="ISO 4217 code of a currency with two decimal places, e.g. USD.",
    )
    credit_value_cents = models.PositiveIntegerField(
        help_text="What one credit is worth, in minor units; prices and payouts derive from it."
    )
    booking_window_days = models.PositiveSmallIntegerField(default=7)
    booking_opens_at = models.TimeField(
        default=time(12, 0), help_text="Studio-local time at which a new day opens for booking."
    )
    default_cancellation_window_hours = models.PositiveSmallIntegerField(default=12)
    late_cancel_fee_cents = models.PositiveIntegerField(default=0)
    missed_class_fee_cents = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(credit_value_cents__gt=0), name="market_credit_value_positive"
            ),
            models.CheckConstraint(
                condition=Q(booking_window_days__gte=1), name="market_booking_window_positive"
            ),
            models.CheckConstraint(
                condition=Q(currency__regex=r"^[A-Z]{3}$"), name="market_currency_iso"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def tzinfo(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)


class Studio(models.Model):
    """A partner studio and its inventory settings."""

    market = models.ForeignKey(
        Market, on_delete=models.PROTECT, related_name="studios", db_index=False
    )
    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=120, unique=True)
    address = models.CharField(max_length=255, blank=True)
    latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    description = models.TextField(blank=True)
    categories = models.JSONField(
        default=list, blank=True, help_text="Category tags, e.g. ['yoga']."
    )
    monthly_visit_limit = models.PositiveSmallIntegerField(
        default=3,
        validators=[MinValueValidator(1), MaxValueValidator(31)],
        help_text="Visits per member per billing cycle on standard spots.",
    )
    cancellation_window_hours = models.PositiveSmallIntegerField(
        default=12, validators=[MaxValueValidator(168)]
    )
    booking_cutoff_minutes = models.PositiveSmallIntegerField(
        default=5, validators=[MaxValueValidator(1440)]
    )
    payout_rate_cents = models.PositiveIntegerField(
        help_text="Standard payout per visit, minor units."
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["market", "is_active"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(monthly_visit_limit__gte=1), name="studio_visit_limit_positive"
            ),
            models.CheckConstraint(
                condition=(Q(latitude__isnull=True) & Q(longitude__isnull=True))
                | (
                    Q(latitude__gte=-90, latitude__lte=90)
                    & Q(longitude__gte=-180, longitude__lte=180)
                ),
                name="studio_geo_point_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def currency(self) -> str:
        return self.market.currency


class StaffRole(models.TextChoices):
    OWNER = "owner", "Owner"
    MANAGER = "manager", "Manager"
    FRONT_DESK = "front_desk", "Front desk"


class StaffMembership(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="staff_memberships",
        db_index=False,
    )
    studio = models.ForeignKey(Studio, on_delete=models.CASCADE, related_name="staff")
    role = models.CharField(max_length=16, choices=StaffRole.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "studio"], name="staff_unique_user_studio")
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.studio} ({self.get_role_display()})"


class ClassType(models.Model):
    studio = models.ForeignKey(
        Studio, on_delete=models.CASCADE, related_name="class_types", db_index=False
    )
    name = models.CharField(max_length=120)
    category = models.CharField(max_length=16, choices=Category.choices)
    duration_minutes = models.PositiveSmallIntegerField(
        default=45, validators=[MinValueValidator(5)]
    )
    description = models.TextField(blank=True)
    is_active = models.BooleanField(
        default=True, help_text="Retired class types are not offered for new schedules."
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["studio", "name"], name="classtype_unique_name_per_studio"
            ),
            models.CheckConstraint(
                condition=Q(duration_minutes__gte=5), name="classtype_duration_min"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Instructor(models.Model):
    studio = models.ForeignKey(Studio, on_delete=models.CASCADE, related_name="instructors")
    name = models.CharField(max_length=120)
    bio = models.TextField(blank=True)
    is_active = models.BooleanField(
        default=True, help_text="Retired instructors are not offered for schedules or classes."
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Weekday(models.IntegerChoices):
    MONDAY = 0, "Mon"
    TUESDAY = 1, "Tue"
    WEDNESDAY = 2, "Wed"
    THURSDAY = 3, "Thu"
    FRIDAY = 4, "Fri"
    SATURDAY = 5, "Sat"
    SUNDAY = 6, "Sun"


# How far ahead a schedule may start or end: more than any studio plans, and far from the end
# of the calendar, where the day after a schedule's last would not exist.
PLANNING_YEARS = 5


def latest_plannable_day(today: date) -> date:
    return today.replace(year=today.year + PLANNING_YEARS, day=min(today.day, 28))


class Schedule(models.Model):
    """A recurring slot; sessions are generated from it ahead of time."""

    studio = models.ForeignKey(Studio, on_delete=models.CASCADE, related_name="schedules")
    class_type = models.ForeignKey(ClassType, on_delete=models.PROTECT, related_name="schedules")
    # PROTECT, as the class type: who teaches a slot is retired (is_active), never erased.
    instructor = models.ForeignKey(
        Instructor, on_delete=models.PROTECT, null=True, blank=True, related_name="schedules"
    )
    weekdays = models.JSONField(help_text="Days of the week, 0 = Monday … 6 = Sunday.")
    local_start_time = models.TimeField()
    duration_minutes = models.PositiveSmallIntegerField(validators=[MinValueValidator(5)])
    capacity = models.PositiveSmallIntegerField()
    network_spots = models.PositiveSmallIntegerField()
    credit_price = models.PositiveSmallIntegerField(validators=[MinValueValidator(1)])
    starts_on = models.DateField()
    ends_on = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["studio", "local_start_time"]
        constraints = [
            models.CheckConstraint(
                condition=Q(network_spots__lte=F("capacity")),
                name="schedule_network_within_capacity",
            ),
            models.CheckConstraint(
                condition=Q(credit_price__gte=1), name="schedule_credit_price_positive"
            ),
            models.CheckConstraint(
                condition=Q(ends_on__isnull=True) | Q(ends_on__gte=F("starts_on")),
                name="schedule_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.class_type} {self.weekday_labels} {self.local_start_time:%H:%M}"

    @property
    def weekday_labels(self) -> str:
        """'Mon, Wed, Fri': the days it runs, Monday first."""
        return ", ".join(Weekday(d).label for d in sorted(self.weekdays))

    def clean(self) -> None:
        if (
            not isinstance(self.weekdays, list)
            or not self.weekdays
            or any(not isinstance(d, int) or not 0 <= d <= 6 for d in self.weekdays)
        ):
            raise ValidationError({"weekdays": "Pick at least one day of the week."})
        if (
            self.network_spots is not None
            and self.capacity is not None
            and self.network_spots > self.capacity
        ):
            raise ValidationError(
                {"network_spots": "Network spots cannot exceed the room's capacity."}
            )
        if self.ends_on and self.starts_on and self.ends_on < self.starts_on:
            raise ValidationError({"ends_on": "The end date must not be before the start date."})
        latest = latest_plannable_day(timezone.localdate())
        for name in ("starts_on", "ends_on"):
            if (day := getattr(self, name)) and day > latest:
                raise ValidationError(
                    {name: f"Plan at most {PLANNING_YEARS} years ahead (by {latest:%-d %b %Y})."}
                )


class SessionStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    CANCELLED = "cancelled", "Cancelled"


class ClassSession(models.Model):
    """One occurrence of a class. Its counters change only under the row lock (docs/locking.md)."""

    # No index of their own: session_studio_starts_at and session_unique_per_schedule_slot
    # lead with them, and a counter update that moves the row writes every index.
    studio = models.ForeignKey(
        Studio, on_delete=models.CASCADE, related_name="sessions", db_index=False
    )
    schedule = models.ForeignKey(
        Schedule,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="sessions",
        db_index=False,
    )
    class_type = models.ForeignKey(ClassType, on_delete=models.PROTECT, related_name="sessions")
    instructor = models.ForeignKey(
        Instructor, on_delete=models.PROTECT, null=True, blank=True, related_name="sessions"
    )
    starts_at = models.DateTimeField()
    duration_minutes = models.PositiveSmallIntegerField(validators=[MinValueValidator(5)])
    capacity = models.PositiveSmallIntegerField(help_text="How many people the room holds.")
    network_spots = models.PositiveSmallIntegerField(
        help_text="Spots offered to members (0 allowed)."
    )
    studio_booked = models.PositiveSmallIntegerField(
        default=0, help_text="Spots the studio filled itself."
    )
    network_booked = models.PositiveSmallIntegerField(default=0)
    premium_booked = models.PositiveSmallIntegerField(default=0)
    credit_price = models.PositiveSmallIntegerField(validators=[MinValueValidator(1)])
    status = models.CharField(
        max_length=16, choices=SessionStatus.choices, default=SessionStatus.SCHEDULED
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["starts_at"]
        indexes = [
            models.Index(fields=["starts_at"], name="session_starts_at"),
            models.Index(fields=["studio", "starts_at"], name="session_studio_starts_at"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(network_spots__lte=F("capacity")),
                name="session_network_within_capacity",
            ),
            models.CheckConstraint(
                condition=Q(studio_booked__gte=0)
                & Q(network_booked__gte=0)
                & Q(premium_booked__gte=0),
                name="session_counters_non_negative",
            ),
            # The last guard against overbooking: the room never holds more than its capacity.
            models.CheckConstraint(
                condition=Q(
                    capacity__gte=F("studio_booked") + F("network_booked") + F("premium_booked")
                ),
                name="session_never_overbooked",
            ),
            models.CheckConstraint(
                condition=Q(credit_price__gte=1), name="session_credit_price_positive"
            ),
            models.UniqueConstraint(
                fields=["schedule", "starts_at"], name="session_unique_per_schedule_slot"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.class_type} @ {self.starts_at:%Y-%m-%d %H:%M}Z"

    @property
    def room_left(self) -> int:
        return max(
            0, self.capacity - self.studio_booked - self.network_booked - self.premium_booked
        )

    @property
    def standard_left(self) -> int:
        return max(0, min(self.network_spots - self.network_booked, self.room_left))

    @property
    def free_cancel_until(self) -> datetime:
        """Cancelling is free until then; later it is a late cancel (reads `studio`)."""
        return self.starts_at - timedelta(hours=self.studio.cancellation_window_hours)

    def premium_left(self, cap: int) -> int:
        """Premium spots left beyond the network allocation, for a studio that sells at most
        `cap` per class (0 where Premium is off)."""
        return max(0, min(self.room_left - self.standard_left, cap - self.premium_booked))


class EarningKind(models.TextChoices):
    RESERVATION = "reservation", "Reservation payout"
    PREMIUM = "premium", "Premium payout"
    SPOTLIGHT = "spotlight", "Spotlight fee"
    ADJUSTMENT = "adjustment", "Adjustment"


class EarningEntry(models.Model):
    """Append-only money ledger of a studio. A payout statement is a sum over a month."""

    studio = models.ForeignKey(
        Studio, on_delete=models.PROTECT, related_name="earnings", db_index=False
    )
    kind = models.CharField(max_length=16, choices=EarningKind.choices)
    amount_cents = models.IntegerField(help_text="Signed; deductions are negative.")
    currency = models.CharField(max_length=3)
    occurred_at = models.DateTimeField()
    session = models.ForeignKey(
        ClassSession, on_delete=models.PROTECT, null=True, blank=True, related_name="earnings"
    )
    reference = models.CharField(
        max_length=120,
        null=True,
        blank=True,
        unique=True,
        help_text="What this entry pays for, e.g. reservation:42; makes writes idempotent.",
    )
    description = models.CharField(max_length=255, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        verbose_name_plural = "earning entries"
        indexes = [models.Index(fields=["studio", "occurred_at"], name="earning_studio_occurred")]

    def __str__(self) -> str:
        money = format_money(self.amount_cents, self.currency)
        return f"{self.studio} {self.get_kind_display()} {money}"


class AuditEntry(models.Model):
    """Who changed what of a studio's settings or inventory, when, from what to what."""

    studio = models.ForeignKey(
        Studio, on_delete=models.CASCADE, related_name="audit_entries", db_index=False
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    action = models.CharField(max_length=40)
    target = models.CharField(
        max_length=120, blank=True, help_text="What was changed, e.g. session:42."
    )
    before = models.JSONField(default=dict)
    after = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "audit entries"
        indexes = [models.Index(fields=["studio", "-created_at"], name="audit_studio_created")]

    def __str__(self) -> str:
        return f"{self.studio} {self.action} {self.target}"

    @property
    def changes(self) -> list[tuple[str, object, object]]:
        keys = sorted(set(self.before) | set(self.after))
        return [(k, self.before.get(k), self.after.get(k)) for k in keys]


class OutboxMessage(models.Model):
    """A side effect (an e-mail, a retry) written in the same transaction as the change.

    The relay (studios.outbox) runs each message after the commit, at least once, even when
    the broker was down at the time: nothing is lost, and a booking never waits for Redis.
    """

    handler = models.CharField(max_length=120, help_text="Dotted path of the function to call.")
    args = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    available_at = models.DateTimeField(
        help_text="Not run before; a claim pushes it out as a lease."
    )
    done_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(
                fields=["available_at"], condition=Q(done_at__isnull=True), name="outbox_pending"
            )
        ]

    def __str__(self) -> str:
        return f"{self.handler}{tuple(self.args)}"
