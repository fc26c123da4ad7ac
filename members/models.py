"""Plans, member profiles, the credit ledger, payments and the studios members save."""

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q

from studios.models import Market, Studio
from studios.templatetags.money import format_money


class Plan(models.Model):
    """A monthly plan of a market: so many credits for so much money."""

    market = models.ForeignKey(
        Market, on_delete=models.PROTECT, related_name="plans", db_index=False
    )
    name = models.CharField(max_length=80)
    credits_per_cycle = models.PositiveIntegerField()
    price_cents = models.PositiveIntegerField()
    is_active = models.BooleanField(default=True, help_text="Offered to new members.")

    class Meta:
        ordering = ["market", "credits_per_cycle"]
        constraints = [
            models.UniqueConstraint(fields=["market", "name"], name="plan_unique_name_per_market"),
            models.CheckConstraint(
                condition=Q(credits_per_cycle__gt=0), name="plan_credits_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.market})"

    @property
    def currency(self) -> str:
        return self.market.currency

    @property
    def price_per_credit_cents(self) -> int:
        """What a credit costs on this plan, rounded to the minor unit: how plans compare."""
        return round(self.price_cents / self.credits_per_cycle)


class SubscriptionStatus(models.TextChoices):
    NONE = "none", "No plan"
    ACTIVE = "active", "Active"
    PAUSED = "paused", "Paused"
    CANCELLED = "cancelled", "Cancelled"


def new_calendar_token() -> str:
    return secrets.token_urlsafe(24)


class Member(models.Model):
    """A user's member profile. credit_balance caches the ledger; the database keeps it >= 0."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="member"
    )
    home_market = models.ForeignKey(Market, on_delete=models.PROTECT, related_name="members")
    plan = models.ForeignKey(
        Plan, on_delete=models.PROTECT, null=True, blank=True, related_name="members"
    )
    next_plan = models.ForeignKey(
        Plan,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Plan that takes over at the next renewal.",
    )
    status = models.CharField(
        max_length=16, choices=SubscriptionStatus.choices, default=SubscriptionStatus.NONE
    )
    credit_balance = models.IntegerField(default=0)
    cycle_anchor = models.DateTimeField(
        null=True, blank=True, help_text="When the first cycle started."
    )
    cycle_started_at = models.DateTimeField(null=True, blank=True)
    cycle_number = models.PositiveIntegerField(
        default=0, help_text="Cycles since the anchor, 0-based."
    )
    subscription_key = models.CharField(
        max_length=16, blank=True, help_text="New at each plan start; keys its cycles' payments."
    )
    next_renewal_at = models.DateTimeField(null=True, blank=True)
    calendar_token = models.CharField(max_length=64, unique=True, default=new_calendar_token)
    created_at = models.DateTimeField(auto_now_add=True)
    class_reminders = models.BooleanField(
        default=True, help_text="E-mail a reminder shortly before each booked class."
    )
    email_confirmed_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the member followed the link e-mailed to their address (at sign-up, or "
        "to a new address); empty until then.",
    )
    deleted_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the member deleted their account: name, e-mail address and log-in are "
        "gone; the ledgers stay, tied to this anonymous profile.",
    )

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["status", "next_renewal_at"], name="member_renewal_due")]
        constraints = [
            models.CheckConstraint(
                condition=Q(credit_balance__gte=0), name="member_credit_balance_non_negative"
            ),
            models.CheckConstraint(
                condition=~Q(status="active")
                | (Q(plan__isnull=False) & Q(next_renewal_at__isnull=False)),
                name="member_active_has_plan",
            ),
        ]

    def __str__(self) -> str:
        return self.user.email

    @property
    def display_name(self) -> str:
        """How studios see the member: their name, else their address; never a deleted one's."""
        if self.deleted_at is not None:
            return "Deleted member"
        return self.user.get_full_name() or self.user.email

    @property
    def has_active_plan(self) -> bool:
        return self.status == SubscriptionStatus.ACTIVE

    @property
    def has_plan(self) -> bool:
        """Active or paused: a plan there is to cancel."""
        return self.status in (SubscriptionStatus.ACTIVE, SubscriptionStatus.PAUSED)


class CreditKind(models.TextChoices):
    GRANT = "grant", "Cycle grant"
    EXPIRY = "expiry", "Rollover expiry"
    FORFEIT = "forfeit", "Forfeited on cancellation"
    BOOKING = "booking", "Booking"
    REFUND = "refund", "Refund"
    ADJUSTMENT = "adjustment", "Adjustment"


class CreditEntry(models.Model):
    """Append-only credit ledger. Invariant: member.credit_balance == sum(amount)."""

    # No index of its own: credit_member_created and the unique reference both lead with it.
    member = models.ForeignKey(
        Member, on_delete=models.PROTECT, related_name="credit_entries", db_index=False
    )
    kind = models.CharField(max_length=16, choices=CreditKind.choices)
    amount = models.IntegerField(help_text="Signed credits.")
    balance_after = models.IntegerField()
    reference = models.CharField(
        max_length=120,
        null=True,
        blank=True,
        help_text="What caused the entry (e.g. cycle:3, reservation:42); unique per member.",
    )
    note = models.CharField(max_length=255, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "credit entries"
        indexes = [models.Index(fields=["member", "-created_at"], name="credit_member_created")]
        constraints = [
            models.UniqueConstraint(
                fields=["member", "reference"], name="credit_unique_reference_per_member"
            ),
            models.CheckConstraint(condition=~Q(amount=0), name="credit_amount_non_zero"),
            models.CheckConstraint(
                condition=Q(balance_after__gte=0), name="credit_balance_after_non_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.member} {self.amount:+d} ({self.get_kind_display()})"


class PaymentKind(models.TextChoices):
    PLAN = "plan", "Plan"
    A_LA_CARTE = "a_la_carte", "À la carte"
    LATE_CANCEL_FEE = "late_cancel_fee", "Late-cancel fee"
    MISSED_CLASS_FEE = "missed_class_fee", "Missed-class fee"
    REFUND = "refund", "Refund"


class PaymentStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class Payment(models.Model):
    """Money taken from (or, negative, given back to) a member through the payment provider."""

    member = models.ForeignKey(
        Member, on_delete=models.PROTECT, related_name="payments", db_index=False
    )
    kind = models.CharField(max_length=20, choices=PaymentKind.choices)
    amount_cents = models.IntegerField(help_text="Signed; refunds are negative.")
    currency = models.CharField(max_length=3)
    status = models.CharField(
        max_length=12, choices=PaymentStatus.choices, default=PaymentStatus.PENDING
    )
    provider = models.CharField(max_length=40)
    provider_reference = models.CharField(max_length=120, blank=True)
    reference = models.CharField(
        max_length=120, unique=True, help_text="Idempotency key: one payment per reference, ever."
    )
    description = models.CharField(max_length=255, blank=True)
    failure_reason = models.CharField(max_length=255, blank=True)
    refund_of = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="refunds",
        help_text="For a refund: the payment it gives money back from.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    answered_late_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When a payment left pending (no answer at once) was settled.",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["member", "-created_at"], name="payment_member_created"),
            # Plan charges answered only late: the few a plan may not have started with.
            models.Index(
                fields=["answered_late_at"],
                condition=Q(kind="plan", answered_late_at__isnull=False),
                name="payment_plan_answered_late",
            ),
            # The sweep that asks the provider again reads only the few pending payments.
            models.Index(
                fields=["created_at"], condition=Q(status="pending"), name="payment_pending"
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(Q(kind="refund") & Q(amount_cents__lt=0))
                | (~Q(kind="refund") & Q(amount_cents__gt=0)),
                name="payment_sign_matches_kind",
            ),
        ]

    def __str__(self) -> str:
        money = format_money(self.amount_cents, self.currency)
        return f"{self.get_kind_display()} {money} ({self.status})"


class SavedStudio(models.Model):
    """A studio a member keeps among "My studios": their search can show only these."""

    # The unique constraint's index leads with the member: no index of its own.
    member = models.ForeignKey(
        Member, on_delete=models.CASCADE, related_name="saved_studios", db_index=False
    )
    studio = models.ForeignKey(Studio, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["member", "studio"], name="one_save_per_member_studio")
        ]

    def __str__(self) -> str:
        return f"{self.member} saved {self.studio}"
