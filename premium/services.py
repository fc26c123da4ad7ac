"""Writes of the premium app: a studio's Premium settings and class-type prices (audited)."""

from django.db import transaction
from django.utils import timezone

from bookings import services as booking_services
from studios import services as studio_services
from studios.errors import InventoryError
from studios.models import AuditEntry, ClassType, Studio

from .models import Opportunity, OpportunityStatus, PremiumPrice, PremiumSettings
from .selectors import settings_for

FIELDS = (
    "enabled",
    "price_cents",
    "max_spots",
    "a_la_carte_enabled",
    "smartspot_enabled",
    "smartspot_cap",
)


def update_settings(studio: Studio, *, by, **values) -> PremiumSettings:
    """Save a studio's Premium settings; the change goes to the studio's audit log."""
    with transaction.atomic(durable=True):
        current = settings_for(studio)
        # A first save changes the defaults the studio had: the log shows them as before.
        before = {k: getattr(current, k) for k in FIELDS}
        # What is not given keeps its value; a first save starts from the defaults.
        obj, _ = PremiumSettings.objects.update_or_create(
            studio=studio,
            defaults=values,
            create_defaults={**{k: getattr(current, k) for k in FIELDS}, **values},
        )
        changed = {k: v for k, v in values.items() if before.get(k) != v}
        if changed:
            AuditEntry.objects.create(
                studio=studio,
                user=by,
                action="premium settings",
                before={k: before.get(k) for k in changed},
                after=changed,
            )
    return obj


def set_class_type_price(
    studio: Studio, class_type: ClassType, *, price_cents: int | None, by
) -> None:
    """Give a class type its own Premium price, or (None) let it use the studio's."""
    if class_type.studio_id != studio.pk:
        raise ValueError("The class type belongs to another studio.")
    with transaction.atomic(durable=True):
        old = (
            PremiumPrice.objects.filter(studio=studio, class_type=class_type)
            .values_list("price_cents", flat=True)
            .first()
        )
        if price_cents is None:
            PremiumPrice.objects.filter(studio=studio, class_type=class_type).delete()
        else:
            PremiumPrice.objects.update_or_create(
                studio=studio, class_type=class_type, defaults={"price_cents": price_cents}
            )
        if old != price_cents:
            AuditEntry.objects.create(
                studio=studio,
                user=by,
                action="premium price",
                target=f"class type:{class_type.name}",
                before={"price_cents": old},
                after={"price_cents": price_cents},
            )


# --- Opportunities: the studio decides -------------------------------------------------------


def accept_opportunity(opportunity: Opportunity, *, by, scope: str = "session") -> Opportunity:
    """Offer the suggested spots: on this class, or ("schedule") on every upcoming class of its
    schedule and the schedule itself. Goes through the locked inventory path, which refuses
    anything past the room (InventoryError) and fills new spots from the waitlist.

    A recommendation is decided once: of two staff deciding it at once (or a double click),
    the first claims it and the second is refused, so its spots are never added twice.
    """
    session = opportunity.session
    session.refresh_from_db()
    if session.starts_at <= timezone.now():
        raise InventoryError("This class has started; the recommendation expired.")
    studio = opportunity.studio
    extra = opportunity.suggested_spots
    before = session.network_spots
    accepted = {"status": OpportunityStatus.ACCEPTED, "network_spots_before": before}
    if scope != "schedule" or not session.schedule_id:
        with transaction.atomic():  # the claim stands only with the spots it added
            _claim(opportunity, by, scope="session", **accepted)
            locked = booking_services.lock_session(session.pk)
            studio_services.update_session(
                studio, session.pk, by=by, network_spots=locked.network_spots + extra
            )
        opportunity.refresh_from_db()
        return opportunity
    # A schedule changes in transactions of its own (one per class), so the claim is made
    # first and given back if the change is refused.
    _claim(opportunity, by, scope="schedule", **accepted)
    try:
        schedule = session.schedule
        studio_services.update_schedule(
            schedule, by=by, network_spots=min(schedule.capacity, schedule.network_spots + extra)
        )
        with transaction.atomic():  # the class itself may differ from its schedule
            locked = booking_services.lock_session(session.pk)
            if locked.network_spots < before + extra:
                studio_services.update_session(
                    studio, session.pk, by=by, network_spots=min(locked.capacity, before + extra)
                )
    except Exception:
        Opportunity.objects.filter(pk=opportunity.pk, status=OpportunityStatus.ACCEPTED).update(
            status=OpportunityStatus.OPEN,
            scope="",
            network_spots_before=None,
            decided_at=None,
            decided_by=None,
        )
        raise
    opportunity.refresh_from_db()
    return opportunity


def dismiss_opportunity(opportunity: Opportunity, *, by) -> Opportunity:
    """Decline a recommendation; a later scan does not raise it again for this class."""
    _claim(opportunity, by, status=OpportunityStatus.DISMISSED)
    opportunity.refresh_from_db()
    return opportunity


def _claim(opportunity: Opportunity, by, **decision) -> None:
    """Decide an open recommendation, once; InventoryError if it was decided or expired."""
    now = timezone.now()
    claimed = Opportunity.objects.filter(pk=opportunity.pk, status=OpportunityStatus.OPEN).update(
        decided_at=now, decided_by=by, updated_at=now, **decision
    )
    if not claimed:
        opportunity.refresh_from_db(fields=["status"])
        raise InventoryError(f"This recommendation is {opportunity.get_status_display().lower()}.")
