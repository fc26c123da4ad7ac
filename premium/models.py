"""Premium settings of a studio: extra spots beyond the network allocation, at a higher rate."""

from django.db import models
from django.db.models import Q

from studios.models import ClassType, Studio


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

    studio = models.ForeignKey(Studio, on_delete=models.CASCADE, related_name="premium_prices")
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
        return f"{self.class_type}: {self.price_cents}"
