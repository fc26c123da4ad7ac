"""Writes of the premium app: a studio's Premium settings and class-type prices (audited)."""

from django.db import transaction

from studios.models import AuditEntry, ClassType, Studio

from .models import PremiumPrice, PremiumSettings
from .selectors import settings_for

FIELDS = ("enabled", "price_cents", "max_spots", "a_la_carte_enabled")


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
