"""Spotlight: studios pay for premier placement in their market's search results."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from studios.models import Category, Market, Studio


class SpotlightPrice(models.Model):
    """The market's price list: the least daily fee, for the whole market or one category."""

    market = models.ForeignKey(
        Market, on_delete=models.CASCADE, related_name="spotlight_prices", db_index=False
    )
    category = models.CharField(
        max_length=16, choices=Category.choices, blank=True, help_text="Empty: the whole market."
    )
    daily_fee_cents = models.PositiveIntegerField()

    class Meta:
        ordering = ["market", "category"]
        constraints = [
            models.UniqueConstraint(
                fields=["market", "category"], name="spotlight_one_price_per_category"
            ),
            models.CheckConstraint(
                condition=Q(daily_fee_cents__gt=0), name="spotlight_price_positive"
            ),
        ]

    def __str__(self) -> str:
        return (
            f"{self.market} {self.get_category_display() or 'whole market'}: {self.daily_fee_cents}"
        )


class CampaignStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    PAUSED = "paused", "Paused"
    ENDED = "ended", "Ended"


class SpotlightCampaign(models.Model):
    studio = models.ForeignKey(Studio, on_delete=models.CASCADE, related_name="spotlight_campaigns")
    market = models.ForeignKey(
        Market, on_delete=models.PROTECT, related_name="spotlight_campaigns", db_index=False
    )
    categories = models.JSONField(default=list, blank=True, help_text="Empty: every category.")
    starts_on = models.DateField()
    ends_on = models.DateField()
    daily_fee_cents = models.PositiveIntegerField()
    status = models.CharField(
        max_length=8, choices=CampaignStatus.choices, default=CampaignStatus.ACTIVE
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-starts_on", "-id"]
        indexes = [
            models.Index(fields=["market", "status", "starts_on", "ends_on"], name="spotlight_live")
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__gte=F("starts_on")), name="spotlight_ends_after_start"
            ),
            models.CheckConstraint(
                condition=Q(daily_fee_cents__gt=0), name="spotlight_fee_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"Spotlight {self.studio} {self.starts_on} to {self.ends_on}"

    def covers(self, category: str) -> bool:
        return not self.categories or not category or category in self.categories


class SpotlightDay(models.Model):
    """A campaign's day: what it was shown, clicked and booked, and what it was charged."""

    campaign = models.ForeignKey(
        SpotlightCampaign, on_delete=models.CASCADE, related_name="days", db_index=False
    )
    day = models.DateField()
    impressions = models.PositiveIntegerField(default=0)
    clicks = models.PositiveIntegerField(default=0)
    bookings = models.PositiveIntegerField(default=0)
    fee_cents = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["day"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "day"], name="spotlight_one_row_per_day")
        ]

    def __str__(self) -> str:
        return f"{self.campaign} {self.day}"
