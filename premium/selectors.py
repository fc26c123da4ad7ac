"""Read queries of the premium app."""

from dataclasses import dataclass
from datetime import date

from django.db.models import Count, Sum
from django.db.models.functions import TruncMonth

from bookings.models import Reservation, ReservationKind, ReservationStatus
from studios.models import ClassType, Studio

from .models import PremiumPrice, PremiumSettings

DEFAULT_MAX_SPOTS = 3


def default_price_cents(studio: Studio) -> int:
    """Premium pays the studio 1.75 times its standard rate, rounded to a whole unit."""
    return max(100, round(studio.payout_rate_cents * 1.75 / 100) * 100)


def settings_for(studio: Studio) -> PremiumSettings:
    """The studio's saved settings, or the defaults (unsaved) for a studio that has none."""
    saved = PremiumSettings.objects.filter(studio=studio).first()
    if saved is not None:
        return saved
    return PremiumSettings(
        studio=studio, price_cents=default_price_cents(studio), max_spots=DEFAULT_MAX_SPOTS
    )


def price_for(settings: PremiumSettings, class_type: ClassType) -> int:
    override = (
        PremiumPrice.objects.filter(studio_id=settings.studio_id, class_type=class_type)
        .values_list("price_cents", flat=True)
        .first()
    )
    return override or settings.price_cents


def class_type_prices(studio: Studio) -> list[PremiumPrice]:
    return list(
        PremiumPrice.objects.filter(studio=studio)
        .select_related("class_type")
        .order_by("class_type__name")
    )


@dataclass(frozen=True)
class ReportRow:
    month: date
    reason: str
    reason_label: str
    visits: int
    revenue_cents: int


def premium_revenue(studio: Studio, *, months: int = 12) -> list[ReportRow]:
    """Premium and à-la-carte visits and revenue by month and scenario. One query."""
    from bookings.models import PremiumReason

    rows = (
        Reservation.objects.filter(
            studio=studio,
            kind__in=[ReservationKind.PREMIUM, ReservationKind.A_LA_CARTE],
            status__in=[
                ReservationStatus.ATTENDED,
                ReservationStatus.MISSED,
                ReservationStatus.LATE_CANCELLED,
            ],
        )
        .annotate(month=TruncMonth("starts_at", tzinfo=studio.market.tzinfo))
        .values("month", "premium_reason")
        .annotate(visits=Count("pk"), revenue=Sum("studio_payout_cents"))
        .order_by("-month", "premium_reason")
    )
    result = []
    for row in rows:
        month = row["month"].date() if hasattr(row["month"], "date") else row["month"]
        result.append(
            ReportRow(
                month,
                row["premium_reason"],
                PremiumReason(row["premium_reason"]).label,
                row["visits"],
                row["revenue"],
            )
        )
    months_seen = sorted({r.month for r in result}, reverse=True)[:months]
    return [r for r in result if r.month in months_seen]
