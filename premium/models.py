"""Premium settings of a studio: extra spots beyond the network allocation, at a higher rate."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from studios.models import ClassSession, ClassType, Market, Studio
from studios.templatetags.money import format_money


class PremiumSettings(models.Model):
    """One row per studio; a studio without one gets the defaults (see premium.selectors)."""

    studio = models.OneToOneField(Studio, on_delete=models.CASCADE, related_name="premium_settings")
    enabled = models.BooleanField(
        default=True, help_text="Sell Premium spots beyond the network allocation."
    )
    price_cents = models.PositiveIntegerField(
        help_text="Premium price per class, paid to the studio."
    )
    max_spots = models.PositiveSmallIntegerField(
        default=3, help_text="Premium spots per class at most."
    )
    a_la_carte_enabled = models.BooleanField(
        default=True, help_text="Sell single classes to people without a plan."
    )
    smartspot_enabled = models.BooleanField(
        default=True,
        help_text="Let the nightly SmartSpot scan release likely-empty places to the network.",
    )
    smartspot_cap = models.PositiveSmallIntegerField(
        default=2, help_text="SmartSpot releases per class at most."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "premium settings"
        constraints = [
            models.CheckConstraint(condition=Q(price_cents__gt=0), name="premium_price_positive")
        ]

    def __str__(self) -> str:
        return f"Premium at {self.studio}"


class PremiumPrice(models.Model):
    """A class type's own premium price, overriding the studio's."""

    studio = models.ForeignKey(
        Studio, on_delete=models.CASCADE, related_name="premium_prices", db_index=False
    )
    class_type = models.ForeignKey(
        ClassType, on_delete=models.CASCADE, related_name="premium_prices"
    )
    price_cents = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["studio", "class_type"], name="premium_price_one_per_class_type"
            ),
            models.CheckConstraint(
                condition=Q(price_cents__gt=0), name="premium_class_price_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.class_type}: {format_money(self.price_cents, self.studio.market.currency)}"

    def clean(self):
        # Prices are looked up by the studio's own class types: another's would never apply.
        if self.studio_id and self.class_type_id and self.class_type.studio_id != self.studio_id:
            raise ValidationError({"class_type": "Pick one of this studio's class types."})


class ScanKind(models.TextChoices):
    SMARTSPOT = "smartspot", "SmartSpot"
    OPPORTUNITIES = "opportunities", "Opportunities"


class ScanRun(models.Model):
    """One nightly (or by-hand) scan. At most one unfinished run of a kind exists at a time."""

    kind = models.CharField(max_length=16, choices=ScanKind.choices)
    market = models.ForeignKey(
        Market, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    as_of = models.DateTimeField(help_text="The scan looks at classes after this instant.")
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    category_history = models.JSONField(
        default=dict,
        blank=True,
        help_text="Each market's history by class category as of the run, read once for all "
        "its chunks (premium.history.by_category).",
    )

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind"],
                condition=Q(finished_at__isnull=True),
                name="scan_one_unfinished_run_per_kind",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} scan {self.started_at:%Y-%m-%d %H:%M}"


class ScanChunk(models.Model):
    """A slice of a run (one market, some studios); claimed, done and written in one transaction."""

    run = models.ForeignKey(
        ScanRun, on_delete=models.CASCADE, related_name="chunks", db_index=False
    )
    market = models.ForeignKey(Market, on_delete=models.CASCADE, related_name="+")
    studio_ids = models.JSONField()
    done_at = models.DateTimeField(null=True, blank=True)
    result = models.JSONField(default=dict)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["run", "done_at"], name="scan_chunk_pending")]

    def __str__(self) -> str:
        return f"chunk {self.pk} of {self.run}"


class SmartSpotRelease(models.Model):
    """Places SmartSpot released to the network for one class, with the forecast behind it."""

    session = models.OneToOneField(
        ClassSession, on_delete=models.CASCADE, related_name="smartspot_release"
    )
    studio = models.ForeignKey(
        Studio, on_delete=models.CASCADE, related_name="smartspot_releases", db_index=False
    )
    run = models.ForeignKey(ScanRun, on_delete=models.SET_NULL, null=True, related_name="+")
    spots_released = models.PositiveSmallIntegerField()
    network_spots_before = models.PositiveSmallIntegerField()
    forecast_empty = models.FloatField(
        help_text="Places forecast to be empty at start without a release."
    )
    inputs = models.JSONField(help_text="The history the forecast used: level, samples, means.")
    model_version = models.CharField(max_length=32)
    created_at = models.DateTimeField(auto_now_add=True)
    outcome_at = models.DateTimeField(null=True, blank=True)
    sold = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Released places booked."
    )
    attended = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="People who came to the class."
    )
    empty = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Places empty at start."
    )

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["studio", "-created_at"], name="smartspot_studio_created")]
        verbose_name = "SmartSpot release"

    def __str__(self) -> str:
        return f"{self.spots_released} released for {self.session}"

    @property
    def actual_empty(self) -> int | None:
        """Places that would have been empty without the release: empty now plus those sold."""
        if self.empty is None:
            return None
        return self.empty + (self.sold or 0)


class OpportunityStatus(models.TextChoices):
    OPEN = "open", "Open"
    ACCEPTED = "accepted", "Accepted"
    DISMISSED = "dismissed", "Dismissed"
    EXPIRED = "expired", "Expired"


class Opportunity(models.Model):
    """A recommendation to offer more network spots in a high-demand class. One per class."""

    session = models.OneToOneField(
        ClassSession, on_delete=models.CASCADE, related_name="opportunity"
    )
    studio = models.ForeignKey(
        Studio, on_delete=models.CASCADE, related_name="opportunities", db_index=False
    )
    run = models.ForeignKey(ScanRun, on_delete=models.SET_NULL, null=True, related_name="+")
    suggested_spots = models.PositiveSmallIntegerField()
    expected_revenue_cents = models.PositiveIntegerField()
    reason = models.CharField(max_length=255)
    status = models.CharField(
        max_length=10, choices=OpportunityStatus.choices, default=OpportunityStatus.OPEN
    )
    scope = models.CharField(
        max_length=10, blank=True, help_text="session or schedule, once accepted."
    )
    network_spots_before = models.PositiveSmallIntegerField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["session__starts_at"]
        verbose_name_plural = "opportunities"
        indexes = [models.Index(fields=["studio", "status"], name="opportunity_studio_status")]

    def __str__(self) -> str:
        return f"+{self.suggested_spots} for {self.session}"
