"""Demo Premium settings for every studio, and past Premium visits where the network sold out."""

import math
import random

from django.utils import timezone

from bookings.demo import PastBooking, write_past
from bookings.models import PremiumReason, Reservation, ReservationKind, ReservationStatus
from members.models import Member, SubscriptionStatus
from studios.models import ClassSession, Studio

from .models import PremiumSettings
from .selectors import DEFAULT_MAX_SPOTS, default_price_cents


def seed(*, scale: int = 1, seed: int = 42) -> str:
    rng = random.Random(seed + 5)
    created = 0
    for studio in Studio.objects.filter(premium_settings__isnull=True).select_related("market"):
        PremiumSettings.objects.create(
            studio=studio,
            enabled=rng.random() < 0.9,
            price_cents=default_price_cents(studio),
            max_spots=DEFAULT_MAX_SPOTS,
            a_la_carte_enabled=rng.random() < 0.85,
        )
        created += 1
    return f"{created} premium settings; {_history(rng)} past Premium visits"


def _history(rng: random.Random) -> int:
    """Past classes that sold out on the network with room left sold a Premium spot or two."""
    now = timezone.now()
    if Reservation.objects.filter(starts_at__lt=now, kind=ReservationKind.PREMIUM).exists():
        return 0
    settings = {s.studio_id: s for s in PremiumSettings.objects.filter(enabled=True)}
    balance = dict(
        Member.objects.filter(status=SubscriptionStatus.ACTIVE).values_list("pk", "credit_balance")
    )
    members = {m.pk: m for m in Member.objects.filter(pk__in=balance)}
    sold_out = (
        ClassSession.objects.filter(starts_at__lt=now, network_spots__gt=0, studio_id__in=settings)
        .select_related("studio__market")
        .order_by("starts_at")
    )
    taken = set(
        Reservation.objects.filter(starts_at__lt=now).values_list("member_id", "session_id")
    )
    by_market: dict[int, list[int]] = {}
    for member in members.values():
        by_market.setdefault(member.home_market_id, []).append(member.pk)
    planned = []
    for session in sold_out:
        if session.network_booked < session.network_spots or session.room_left <= 0:
            continue
        premium = settings[session.studio_id]
        credits = math.ceil(premium.price_cents / session.studio.market.credit_value_cents)
        wanted = rng.randint(0, min(2, session.room_left, premium.max_spots))
        for member_pk in rng.sample(by_market.get(session.studio.market_id, []), 8):
            if wanted == 0:
                break
            if balance[member_pk] < 2 * credits or (member_pk, session.pk) in taken:
                continue
            taken.add((member_pk, session.pk))
            balance[member_pk] -= credits
            wanted -= 1
            planned.append(
                PastBooking(
                    session,
                    members[member_pk],
                    ReservationStatus.ATTENDED,
                    kind=ReservationKind.PREMIUM,
                    premium_reason=PremiumReason.NETWORK_SOLD_OUT,
                    credits=credits,
                    payout_cents=premium.price_cents,
                )
            )
    return len(write_past(planned))
