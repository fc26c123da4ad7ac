"""Demo bookings made through the real engine: busy classes, sold-out ones with waitlists."""

import random
from datetime import timedelta

from django.utils import timezone

from members.models import (
    CreditEntry,
    CreditKind,
    Member,
    Payment,
    PaymentKind,
    PaymentStatus,
    SubscriptionStatus,
)
from studios.demo import slot_popularity
from studios.models import ClassSession, EarningEntry, EarningKind, SessionStatus

from . import outbox, services
from .errors import BookingError
from .models import Counter, Reservation, ReservationStatus

# Outcomes of past reservations: attended, no-show, late cancel, free cancel.
OUTCOMES = [
    (0.82, ReservationStatus.ATTENDED),
    (0.88, ReservationStatus.MISSED),
    (0.94, ReservationStatus.LATE_CANCELLED),
    (1.00, ReservationStatus.CANCELLED),
]


def seed(*, scale: int = 1, seed: int = 42) -> str:
    history = _history(seed=seed)
    return f"{history}; {_upcoming(seed=seed)}"


def _upcoming(*, seed: int) -> str:
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
    with outbox.silenced():  # no e-mail storm from the demo
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


def _history(*, seed: int) -> str:
    """Eight weeks of past reservations with consistent ledgers, written set-based.

    Demand follows each slot's popularity; every reservation is paid from the member's credits
    (one that cannot afford it is skipped), then attended, missed or cancelled, with the credit
    refunds, fees and studio payouts those outcomes imply.
    """
    now = timezone.now()
    if Reservation.objects.filter(starts_at__lt=now).exists():
        return "history already seeded"
    rng = random.Random(seed + 3)
    members: dict[int, list[Member]] = {}
    for member in Member.objects.exclude(status=SubscriptionStatus.NONE).select_related("user"):
        members.setdefault(member.home_market_id, []).append(member)
    # History spends about half of each balance; the rest books the coming week.
    balance = {m.pk: m.credit_balance for pool in members.values() for m in pool}
    keep = {pk: b // 2 for pk, b in balance.items()}
    sessions = list(
        ClassSession.objects.filter(
            starts_at__lt=now - timedelta(hours=3), network_spots__gt=0
        ).select_related("studio__market")
    )
    rng.shuffle(sessions)  # credits run out somewhere; not always in the same weeks
    visits: dict[tuple, int] = {}
    planned = []  # (session, member, status)
    for session in sessions:
        pool = members.get(session.studio.market_id, [])
        demand = 0.1 + 0.95 * slot_popularity(seed, session.schedule_id)
        wanted = min(
            session.network_spots, round(session.network_spots * demand * rng.uniform(0.85, 1.15))
        )
        month = (session.starts_at.year, session.starts_at.month)
        for member in rng.sample(pool, min(len(pool), wanted * 2)):
            if wanted <= 0:
                break
            key = (member.pk, session.studio_id, month)
            if (
                balance[member.pk] - keep[member.pk] < session.credit_price
                or visits.get(key, 0) >= session.studio.monthly_visit_limit
            ):
                continue
            roll = rng.random()
            status = next(s for bound, s in OUTCOMES if roll < bound)
            balance[member.pk] -= session.credit_price
            if status != ReservationStatus.ATTENDED:
                balance[member.pk] += session.credit_price
            if status in LIVE_STATUSES_PAST:
                visits[key] = visits.get(key, 0) + 1
                wanted -= 1
            planned.append((session, member, status))
    # The ledger follows the planning order, so every running balance it checked holds.
    reservations = Reservation.objects.bulk_create(
        [_past_reservation(session, member, status) for session, member, status in planned],
        batch_size=2000,
    )
    _past_ledgers(planned, reservations)
    return f"{len(reservations)} past reservations"


LIVE_STATUSES_PAST = (ReservationStatus.ATTENDED, ReservationStatus.MISSED)


def _past_reservation(session, member, status) -> Reservation:
    end = session.starts_at + timedelta(minutes=session.duration_minutes)
    cancelled = {
        ReservationStatus.LATE_CANCELLED: session.starts_at - timedelta(hours=3),
        ReservationStatus.CANCELLED: session.starts_at - timedelta(days=2),
    }.get(status)
    return Reservation(
        member=member,
        session=session,
        studio_id=session.studio_id,
        starts_at=session.starts_at,
        counter=Counter.NETWORK,
        credits_spent=session.credit_price,
        currency=session.studio.market.currency,
        studio_payout_cents=session.studio.payout_rate_cents,
        status=status,
        cancelled_at=cancelled,
        marked_at=end if status in LIVE_STATUSES_PAST else None,
    )


def _past_ledgers(planned, reservations) -> None:
    """Credit entries in each member's order, fees, studio payouts and the session counters."""
    last = {m.pk: m.credit_balance for _, m, _ in planned}
    credits, payments, earnings, counters = [], [], [], {}
    for (session, member, status), reservation in zip(planned, reservations, strict=True):
        market = session.studio.market
        last[member.pk] -= session.credit_price
        credits.append(
            CreditEntry(
                member=member,
                kind=CreditKind.BOOKING,
                amount=-session.credit_price,
                balance_after=last[member.pk],
                reference=f"reservation:{reservation.pk}",
                note=f"Class at {session.studio.name}",
            )
        )
        if status != ReservationStatus.ATTENDED:
            last[member.pk] += session.credit_price
            credits.append(
                CreditEntry(
                    member=member,
                    kind=CreditKind.REFUND,
                    amount=session.credit_price,
                    balance_after=last[member.pk],
                    reference=f"refund:reservation:{reservation.pk}",
                    note="Class cancelled or missed: credits returned.",
                )
            )
        fee = {
            ReservationStatus.MISSED: (PaymentKind.MISSED_CLASS_FEE, market.missed_class_fee_cents),
            ReservationStatus.LATE_CANCELLED: (
                PaymentKind.LATE_CANCEL_FEE,
                market.late_cancel_fee_cents,
            ),
        }.get(status)
        if fee and fee[1]:
            payments.append(
                Payment(
                    member=member,
                    kind=fee[0],
                    amount_cents=fee[1],
                    currency=market.currency,
                    status=PaymentStatus.SUCCEEDED,
                    provider="local",
                    reference=f"{fee[0]}:reservation:{reservation.pk}",
                    description=PaymentKind(fee[0]).label,
                )
            )
        if status != ReservationStatus.CANCELLED:
            earnings.append(
                EarningEntry(
                    studio_id=session.studio_id,
                    kind=EarningKind.RESERVATION,
                    amount_cents=session.studio.payout_rate_cents,
                    currency=market.currency,
                    occurred_at=reservation.marked_at or reservation.cancelled_at,
                    session=session,
                    reference=f"reservation:{reservation.pk}",
                    description=f"Standard · {reservation.get_status_display()}",
                )
            )
        if status in LIVE_STATUSES_PAST:
            counters[session.pk] = counters.get(session.pk, 0) + 1
    CreditEntry.objects.bulk_create(credits, batch_size=2000)
    Payment.objects.bulk_create(payments, batch_size=2000)
    EarningEntry.objects.bulk_create(earnings, batch_size=2000)
    for pk, final in last.items():
        Member.objects.filter(pk=pk).update(credit_balance=final)
    sessions = [ClassSession(pk=pk, network_booked=n) for pk, n in counters.items()]
    ClassSession.objects.bulk_update(sessions, ["network_booked"], batch_size=2000)
