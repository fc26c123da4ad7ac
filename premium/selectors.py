"""Read queries of the premium app."""

from dataclasses import dataclass
from datetime import date

from django.db.models import (
    Avg,
    Case,
    Count,
    ExpressionWrapper,
    F,
    FilteredRelation,
    Func,
    IntegerField,
    Q,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Greatest, Least, TruncMonth
from django.utils import timezone

from bookings.models import PremiumReason, Reservation, ReservationKind, ReservationStatus
from studios.models import ClassType, Studio

from .models import Opportunity, OpportunityStatus, PremiumPrice, PremiumSettings, SmartSpotRelease

DEFAULT_MAX_SPOTS = 3


def premium_annotations() -> dict:
    """What Premium annotates on class session queries (SESSION_ANNOTATIONS), in the same
    statement, the defaults' for a studio with no settings saved:

    - `premium_cap`, the studio's Premium spots per class (0 where Premium is off);
    - `premium_credits`, what a Premium spot in the class costs in the market's credits
      (price_for() and premium_credits() in SQL);
    - `a_la_carte_cents`, what the class costs someone without a plan, in money: the Premium
      price, where the studio sells single classes (PremiumOfferProvider's rule), else null.

    Two left joins on unique keys, the studio's settings and the class type's own price, not
    subqueries: the search reads both in its filters too, and a join is one column reference
    wherever it is read."""
    saved = "studio__premium_settings__"
    enabled = PremiumSettings._meta.get_field("enabled").default
    cap = Case(
        When(**{saved + "enabled": True}, then=F(saved + "max_spots")),
        When(**{saved + "enabled": False}, then=Value(0)),
        default=Value(DEFAULT_MAX_SPOTS if enabled else 0),  # no settings saved
        output_field=IntegerField(),
    )
    price = Coalesce(
        F("own_premium_price__price_cents"),
        F(saved + "price_cents"),
        _default_price_sql(),
        output_field=IntegerField(),
    )
    credit_value = F("studio__market__credit_value_cents")
    sells_single = enabled and PremiumSettings._meta.get_field("a_la_carte_enabled").default
    a_la_carte = Case(
        When(**{saved + "enabled": True, saved + "a_la_carte_enabled": True}, then=price),
        When(**{saved + "enabled__isnull": True}, then=price if sells_single else Value(None)),
        default=Value(None),
        output_field=IntegerField(),
    )
    return {
        "own_premium_price": FilteredRelation(
            "class_type__premium_prices",
            condition=Q(class_type__premium_prices__studio=F("studio")),
        ),
        "premium_cap": cap,
        # Whole-number division rounds up as premium_credits() does: (a + b - 1) / b.
        "premium_credits": ExpressionWrapper(
            (price + credit_value - 1) / credit_value, output_field=IntegerField()
        ),
        "a_la_carte_cents": a_la_carte,
    }


def default_price_cents(studio: Studio) -> int:
    """Premium pays the studio 1.75 times its standard rate, rounded half up to a whole unit
    (rate * 7 / 400 units, in whole numbers, as _default_price_sql() computes it)."""
    return max(100, (studio.payout_rate_cents * 7 + 200) // 400 * 100)


def _default_price_sql():
    units = ExpressionWrapper(
        (F("studio__payout_rate_cents") * 7 + 200) / 400, output_field=IntegerField()
    )
    return Greatest(Value(100), units * 100, output_field=IntegerField())


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


# --- SmartSpot and Opportunities pages -------------------------------------------------------


def smartspot_releases(studio: Studio):
    return (
        SmartSpotRelease.objects.filter(studio=studio)
        .select_related("session__class_type")
        .order_by("-session__starts_at")
    )


@dataclass(frozen=True)
class Accuracy:
    classes: int
    forecast: float
    actual: float
    mean_abs_error: float

    @property
    def accuracy(self) -> float | None:
        """1 - error relative to what actually happened; None without outcomes."""
        if not self.classes or not self.actual:
            return None
        return max(0.0, 1 - self.mean_abs_error / (self.actual / self.classes))


def smartspot_accuracy(studio: Studio, *, weeks: int = 8) -> Accuracy:
    """Forecast empties against actual ones (empty at start plus released places sold)."""
    since = timezone.now() - timezone.timedelta(weeks=weeks)
    actual = F("empty") + F("sold")
    row = SmartSpotRelease.objects.filter(
        studio=studio, outcome_at__isnull=False, session__starts_at__gte=since
    ).aggregate(
        classes=Count("pk"),
        forecast=Sum("forecast_empty"),
        actual=Sum(actual),
        error=Avg(Func(F("forecast_empty") - actual, function="ABS")),
    )
    return Accuracy(row["classes"], row["forecast"] or 0.0, row["actual"] or 0, row["error"] or 0.0)


def open_opportunities(studio: Studio):
    return (
        Opportunity.objects.filter(
            studio=studio, status=OpportunityStatus.OPEN, session__starts_at__gt=timezone.now()
        )
        .select_related("session__class_type")
        .order_by("session__starts_at")
    )


def _sold_extra():
    """Of an accepted recommendation's spots, those the network sold beyond the allocation it
    had before (0 for any other)."""
    return Case(
        When(
            status=OpportunityStatus.ACCEPTED,
            network_spots_before__isnull=False,
            then=Greatest(
                Least(
                    F("session__network_booked") - F("network_spots_before"),
                    F("suggested_spots"),
                ),
                Value(0),
            ),
        ),
        default=Value(0),
        output_field=IntegerField(),
    )


def accepted_revenue(studio: Studio) -> dict:
    """What accepted recommendations brought: places sold beyond the old allocation, at the rate."""
    row = Opportunity.objects.filter(studio=studio, status=OpportunityStatus.ACCEPTED).aggregate(
        accepted=Count("pk"),
        spots=Sum("suggested_spots"),
        sold=Sum(_sold_extra()),
        expected=Sum("expected_revenue_cents"),
    )
    rate = studio.payout_rate_cents
    return {
        "accepted": row["accepted"],
        "spots": row["spots"] or 0,
        "sold": row["sold"] or 0,
        "revenue_cents": (row["sold"] or 0) * rate,
        "expected_cents": row["expected"] or 0,
    }


DECIDED_SHOWN = 10


def decided_opportunities(studio: Studio):
    """The studio's decided recommendations, newest decision first, each with `sold_extra`
    (_sold_extra()) and who decided it (the page shows the first DECIDED_SHOWN)."""
    return (
        Opportunity.objects.filter(
            studio=studio,
            status__in=[OpportunityStatus.ACCEPTED, OpportunityStatus.DISMISSED],
        )
        .select_related("session__class_type", "decided_by")
        .annotate(sold_extra=_sold_extra())
        .order_by("-decided_at", "-pk")
    )


def opportunity_for_studio(studio: Studio, opportunity_id: int):
    return (
        Opportunity.objects.filter(studio=studio, pk=opportunity_id)
        .select_related("session__schedule", "studio__market")
        .first()
    )
