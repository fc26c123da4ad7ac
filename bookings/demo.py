"""Demo bookings made through the real engine: busy classes, sold-out ones with waitlists."""

import random
from datetime import timedelta

from django.test.utils import override_settings
from django.utils import timezone

from members.models import Member, SubscriptionStatus
from studios.models import ClassSession, SessionStatus

from . import services
from .errors import BookingError
from .models import Reservation

QUIET_MAILERS = {"default": {"BACKEND": "django.core.mail.backends.dummy.EmailBackend"}}


def seed(*, scale: int = 1, seed: int = 42) -> str:
    now = timezone.now()
    if Reservation.objects.filter(starts_at__gte=now).exists():
        return "upcoming bookings already seeded"
    rng = random.Random(seed + 2)
    members_by_market: dict[int, list[int]] = {}
    for pk, market_id in Member.objects.filter(status=SubscriptionStatus.ACTIVE).values_list(
        "pk", "home_market_id"
    ):
        members_by_market.setdefault(market_id, []).append(pk)
    sessions = list(
        ClassSession.objects.filter(
            status=SessionStatus.SCHEDULED,
            starts_at__gte=now + timedelta(hours=1),
            starts_at__lt=now + timedelta(days=6),
            network_spots__gt=0,
        )
        .select_related("studio")
        .order_by("starts_at")
    )
    booked = waiting = 0
    demo_member = Member.objects.filter(user__username="member@classpass.local").first()
    with override_settings(MAILERS=QUIET_MAILERS):  # no e-mail storm from the demo
        for session in sessions:
            pool = members_by_market.get(session.studio.market_id, [])
            hot = rng.random() < 0.2  # one class in five sells out on the network
            wanted = (
                session.network_spots + rng.randint(1, 3)
                if hot
                else rng.randint(0, session.network_spots // 2)
            )
            for member_pk in rng.sample(pool, min(len(pool), wanted)):
                member = Member.objects.get(pk=member_pk)
                try:
                    services.book(member, session.pk, now=now)
                    booked += 1
                except BookingError:
                    if hot and rng.random() < 0.6:
                        try:
                            services.join_waitlist(member, session.pk, now=now)
                            waiting += 1
                        except BookingError:
                            pass
        if demo_member is not None:
            own = [s for s in sessions if s.studio.market_id == demo_member.home_market_id][:40:13]
            for session in own:
                try:
                    services.book(demo_member, session.pk, now=now)
                    booked += 1
                except BookingError:
                    continue
    return f"{booked} upcoming bookings, {waiting} waitlist entries"
