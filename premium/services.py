"""Writes of the premium app: a studio's Premium settings and class-type prices (audited)."""

from django.db import transaction
from django.utils import timezone

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
        before = {k: getattr(current, k) for k in FIELDS} if current.pk else {}
        obj, _ = PremiumSettings.objects.update_or_create(studio=studio, defaults=values)
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
    anything past the room (InventoryError) and fills new spots from the waitlist."""
    if opportunity.status != OpportunityStatus.OPEN:
        raise InventoryError(f"This recommendation is {opportunity.get_status_display().lower()}.")
    session = opportunity.session
    if session.starts_at <= timezone.now():
        raise InventoryError("This class has started; the recommendation expired.")
    studio = opportunity.studio
    extra = opportunity.suggested_spots
    before = session.network_spots
    if scope == "schedule" and session.schedule_id:
        schedule = session.schedule
        values = {name: getattr(schedule, name) for name in studio_services.SCHEDULE_FIELDS}
        values["network_spots"] = min(values["capacity"], values["network_spots"] + extra)
        studio_services.update_schedule(schedule, by=by, **values)
        session.refresh_from_db()
        if session.network_spots < before + extra:  # the class itself differs from its schedule
            studio_services.update_session(
                studio,
                session.pk,
                by=by,
                capacity=session.capacity,
                network_spots=min(session.capacity, session.network_spots + extra),
                studio_booked=session.studio_booked,
            )
    else:
        scope = "session"
        studio_services.update_session(
            studio,
            session.pk,
            by=by,
            capacity=session.capacity,
            network_spots=session.network_spots + extra,
            studio_booked=session.studio_booked,
        )
    Opportunity.objects.filter(pk=opportunity.pk).update(
        status=OpportunityStatus.ACCEPTED,
        scope=scope,
        network_spots_before=before,
        decided_at=timezone.now(),
        decided_by=by,
    )
    opportunity.refresh_from_db()
    return opportunity


def dismiss_opportunity(opportunity: Opportunity, *, by) -> Opportunity:
    """Decline a recommendation; a later scan does not raise it again for this class."""
    if opportunity.status != OpportunityStatus.OPEN:
        raise InventoryError(f"This recommendation is {opportunity.get_status_display().lower()}.")
    Opportunity.objects.filter(pk=opportunity.pk).update(
        status=OpportunityStatus.DISMISSED, decided_at=timezone.now(), decided_by=by
    )
    opportunity.refresh_from_db()
    return opportunity
