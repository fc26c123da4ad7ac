"""Reservations and waitlist entries. Every write goes through bookings.services (the engine)."""

import uuid

from django.db import models
from django.db.models import Q

from members.models import Member, Payment
from studios.models import ClassSession, Studio


class ReservationKind(models.TextChoices):
    STANDARD = "standard", "Standard"
    PREMIUM = "premium", "Premium"
    A_LA_CARTE = "a_la_carte", "À la carte"


class PremiumReason(models.TextChoices):
    NONE = "", "—"
    LIMIT_REACHED = "limit_reached", "Monthly limit reached"
    NETWORK_SOLD_OUT = "network_sold_out", "Network sold out"
    ZERO_ALLOCATION = "zero_allocation", "No network spots offered"
    A_LA_CARTE = "a_la_carte", "À la carte"


class Source(models.TextChoices):
    WEB = "web", "Website"
    API = "api", "API"
    WAITLIST = "waitlist", "Waitlist"
    SMARTSPOT = "smartspot", "SmartSpot"
    SPOTLIGHT = "spotlight", "Spotlight"


class ReservationStatus(models.TextChoices):
    HELD = "held", "Held for payment"
    BOOKED = "booked", "Booked"
    CANCELLED = "cancelled", "Cancelled"
    LATE_CANCELLED = "late_cancelled", "Late-cancelled"
    ATTENDED = "attended", "Attended"
    MISSED = "missed", "Missed"
    EXPIRED = "expired", "Hold expired"


# A live reservation holds a spot (or held one, for a class that has happened). A spot held
# while a payment completes is live too: nobody else can take it meanwhile.
LIVE_STATUSES = (
    ReservationStatus.HELD,
    ReservationStatus.BOOKED,
    ReservationStatus.ATTENDED,
    ReservationStatus.MISSED,
)


class Counter(models.TextChoices):
    """Which of the session's counters a reservation occupies."""

    NETWORK = "network", "Network"
    PREMIUM = "premium", "Premium"


class Reservation(models.Model):
    # member and session have no index of their own: the composite indexes below lead with
    # them, and every booking writes each index (docs/performance.md).
    member = models.ForeignKey(
        Member, on_delete=models.PROTECT, related_name="reservations", db_index=False
    )
    session = models.ForeignKey(
        ClassSession, on_delete=models.PROTECT, related_name="reservations", db_index=False
    )
    # Copies of the session's studio and start, so that the monthly-limit count is one index scan.
    studio = models.ForeignKey(Studio, on_delete=models.PROTECT, related_name="reservations")
    starts_at = models.DateTimeField()
    kind = models.CharField(
        max_length=16, choices=ReservationKind.choices, default=ReservationKind.STANDARD
    )
    premium_reason = models.CharField(
        max_length=20, choices=PremiumReason.choices, blank=True, default=""
    )
    counter = models.CharField(max_length=8, choices=Counter.choices, default=Counter.NETWORK)
    credits_spent = models.PositiveIntegerField(default=0)
    money_paid_cents = models.PositiveIntegerField(default=0)
    currency = models.CharField(max_length=3)
    studio_payout_cents = models.PositiveIntegerField()
    payment = models.ForeignKey(
        Payment, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    hold_expires_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="A paid booking is held until then while the payment completes.",
    )
    source = models.CharField(max_length=12, choices=Source.choices, default=Source.WEB)
    status = models.CharField(
        max_length=16, choices=ReservationStatus.choices, default=ReservationStatus.BOOKED
    )
    idempotency_key = models.CharField(max_length=80, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    marked_at = models.DateTimeField(null=True, blank=True, help_text="When attendance was marked.")
    mark_version = models.PositiveSmallIntegerField(
        default=0, help_text="Undone attendance marks; keys the ledger entries of the next mark."
    )
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    reminded_at = models.DateTimeField(
        null=True, blank=True, help_text="When the member was reminded that the class is soon."
    )

    class Meta:
        ordering = ["-starts_at", "-id"]
        indexes = [
            models.Index(
                fields=["member", "studio", "starts_at"], name="reservation_member_visits"
            ),
            models.Index(fields=["session", "status"], name="reservation_session_status"),
            models.Index(fields=["member", "-starts_at"], name="reservation_member_schedule"),
            models.Index(fields=["status", "starts_at"], name="reservation_status_starts"),
            # The few holds whose payment the provider did not answer at once
            # (services.settle_late_payments); other bookings never enter it.
            models.Index(
                fields=["payment"],
                condition=Q(
                    status__in=["held", "expired", "cancelled"],
                    hold_expires_at__isnull=False,
                    payment__isnull=False,
                ),
                name="reservation_late_payment",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["member", "session"],
                condition=Q(status__in=["held", "booked", "attended", "missed"]),
                name="reservation_one_live_per_member_session",
            ),
            models.UniqueConstraint(
                fields=["member", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="reservation_unique_idempotency_key",
            ),
            models.CheckConstraint(
                condition=Q(kind="standard", premium_reason="")
                | (~Q(kind="standard") & ~Q(premium_reason="")),
                name="reservation_premium_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.member} → {self.session} ({self.get_status_display()})"

    @property
    def is_live(self) -> bool:
        return self.status in LIVE_STATUSES

    def ref(self, what: str) -> str:
        """A ledger reference for this reservation's current mark (unique after an undo)."""
        base = f"{what}:{self.pk}" if what == "reservation" else f"{what}:reservation:{self.pk}"
        return base if not self.mark_version else f"{base}:v{self.mark_version}"

    @property
    def refund_ref(self) -> str:
        """The reference of the refund of the money paid for this reservation (one at most)."""
        return f"refund:reservation:{self.pk}"

    @property
    def credits_returned(self) -> bool:
        """Cancelled, late or not, or missed: the engine gave the credits back."""
        return bool(self.credits_spent) and self.status in (
            ReservationStatus.CANCELLED,
            ReservationStatus.LATE_CANCELLED,
            ReservationStatus.MISSED,
        )

    @property
    def shows_as_premium(self) -> bool:
        """Premium and à la carte both show as Premium to the studio."""
        return self.kind != ReservationKind.STANDARD


class WaitlistStatus(models.TextChoices):
    WAITING = "waiting", "Waiting"
    PROMOTED = "promoted", "Promoted"
    LEFT = "left", "Left"
    EXPIRED = "expired", "Expired"


class WaitlistEntry(models.Model):
    session = models.ForeignKey(
        ClassSession, on_delete=models.CASCADE, related_name="waitlist", db_index=False
    )
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="waitlist_entries")
    status = models.CharField(
        max_length=10, choices=WaitlistStatus.choices, default=WaitlistStatus.WAITING
    )
    reservation = models.ForeignKey(
        Reservation, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name_plural = "waitlist entries"
        indexes = [models.Index(fields=["session", "status", "created_at"], name="waitlist_queue")]
        constraints = [
            models.UniqueConstraint(
                fields=["session", "member"],
                condition=Q(status="waiting"),
                name="waitlist_one_waiting_per_member_session",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.member} waiting for {self.session}"


class WebhookSubscription(models.Model):
    """A studio's endpoint for reservation events, signed with HMAC-SHA256 of the body."""

    studio = models.ForeignKey(Studio, on_delete=models.CASCADE, related_name="webhooks")
    url = models.URLField(max_length=500)
    secret = models.CharField(max_length=64)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.studio}: {self.url}"
