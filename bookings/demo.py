"""Demo bookings made through the real engine (busy classes, sold-out ones with waitlists), the
history behind them, and the step that dates that history when it happened."""

import bisect
import random
import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db.models import F, Q
from django.utils import timezone

from members.demo import BOOKED_AHEAD, DEMO_MEMBER, crowd, had_plan_for
from members.models import (
    CreditEntry,
    CreditKind,
    Member,
    Payment,
    PaymentKind,
    PaymentStatus,
    SubscriptionStatus,
)
from members.services import MIN_ROLLOVER_CAP, add_months
from studios.demo import demo_owner_hot_slots, demo_owner_studios, slot_popularity
from studios.models import (
    ClassSession,
    EarningEntry,
    EarningKind,
    SessionStatus,
)

from . import services
from .errors import BookingError
from .models import Counter, Reservation, ReservationKind, ReservationStatus

User = get_user_model()
RESERVATION_REFERENCE = re.compile(r"(?:^|:)reservation:(\d+)(?::v\d+)?$")

# What a past reservation's refund entry says happened (as the engine words it).
GIVEN_BACK = {
    ReservationStatus.CANCELLED: "cancelled",
    ReservationStatus.LATE_CANCELLED: "cancelled",
    ReservationStatus.MISSED: "missed",
}

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
    demo_member = Member.objects.filter(user__username=DEMO_MEMBER).first()
    # The demo member books a few classes of their own below and keeps the rest of their
    # credits, so that whoever tries the demo as them can book (the README's walk-through).
    members_by_market: dict[int, list[int]] = {}
    for pk, market_id in crowd().values_list("pk", "home_market_id"):
        members_by_market.setdefault(market_id, []).append(pk)
    sessions = list(
        ClassSession.objects.filter(
            status=SessionStatus.SCHEDULED,
            starts_at__gte=now + timedelta(hours=1),
            starts_at__lt=now + timedelta(days=6),
            network_spots__gt=0,
        )
        .select_related("studio")
        .order_by("starts_at", "pk")  # ties in one order, whatever the table went through
    )
    booked = waiting = 0
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
        booked += _demo_members_own(demo_member, sessions, now)
    return f"{booked} upcoming bookings, {waiting} waitlist entries"


DEMO_MEMBER_CLASSES = 4
DEMO_MEMBER_KEEPS = 15  # credits left for whoever tries the demo as them: a class or two


def _demo_members_own(member: Member, sessions: list[ClassSession], now) -> int:
    """The demo member's classes ahead: one in each stretch of the coming days, the first
    there that takes the booking (another may be sold out, or at a studio whose monthly
    limit they reached), always keeping DEMO_MEMBER_KEEPS credits. Whatever the hour the demo
    is loaded at, they have classes ahead and credits to book more."""
    home = [s for s in sessions if s.studio.market_id == member.home_market_id]
    stretch = max(1, len(home) // DEMO_MEMBER_CLASSES)
    own = 0
    for start in range(0, len(home), stretch):
        for session in home[start : start + stretch]:
            member.refresh_from_db(fields=["credit_balance"])
            if member.credit_balance - session.credit_price < DEMO_MEMBER_KEEPS:
                continue
            try:
                services.book(member, session.pk, now=now)
            except BookingError:
                continue
            own += 1
            break
        if own == DEMO_MEMBER_CLASSES:
            break
    return own


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
    timelines = Timelines(balance, now)
    sessions = list(
        ClassSession.objects.filter(
            starts_at__lt=now - timedelta(hours=3), network_spots__gt=0
        ).select_related("studio__market")
    )
    rng.shuffle(sessions)  # credits run out somewhere; not always in the same weeks
    # Except at the demo owner's studios, whose dashboard the demo shows: they are filled
    # first, so their history is never left thin by the credits running out.
    shown = set(demo_owner_studios().values_list("pk", flat=True))
    sessions.sort(key=lambda session: session.studio_id not in shown)  # stable: still shuffled
    # One slot at each of them sells out on the network most weeks, with room left.
    hot = demo_owner_hot_slots()
    visits: dict[tuple, int] = {}
    planned = []  # (session, member, status)
    for session in sessions:
        pool = members.get(session.studio.market_id, [])
        demand = (
            HOT_DEMAND
            if session.schedule_id in hot
            else 0.1 + 0.95 * slot_popularity(seed, session.schedule_id)
        )
        wanted = min(
            session.network_spots, round(session.network_spots * demand * rng.uniform(0.85, 1.15))
        )
        month = (session.starts_at.year, session.starts_at.month)
        asked = wanted * (4 if session.schedule_id in hot else 2)  # some cannot come
        booked = session.starts_at - BOOKED_AHEAD
        for member in rng.sample(pool, min(len(pool), asked)):
            if wanted <= 0:
                break
            key = (member.pk, session.studio_id, month)
            if (
                balance[member.pk] - keep[member.pk] < session.credit_price
                or visits.get(key, 0) >= session.studio.monthly_visit_limit
                or not had_plan_for(member, session.starts_at)
                or not timelines.affords(member.pk, session.credit_price, booked)
            ):
                continue
            roll = rng.random()
            status = next(s for bound, s in OUTCOMES if roll < bound)
            timelines.book(
                member.pk, session.credit_price, booked, back=given_back_at(session, status)
            )
            balance[member.pk] -= session.credit_price
            if status != ReservationStatus.ATTENDED:
                balance[member.pk] += session.credit_price
            if status in LIVE_STATUSES_PAST:
                visits[key] = visits.get(key, 0) + 1
                wanted -= 1
            planned.append(PastBooking(session, member, status))
    # The ledger follows the planning order, so every running balance it checked holds.
    reservations = write_past(planned)
    return f"{len(reservations)} past reservations"


LIVE_STATUSES_PAST = (ReservationStatus.ATTENDED, ReservationStatus.MISSED)
HOT_DEMAND = 1.1  # of a hot slot's network spots: sold out most weeks


@dataclass
class PastBooking:
    """One past reservation to write; Premium ones say their kind, price and payout."""

    session: ClassSession
    member: Member
    status: str
    kind: str = ReservationKind.STANDARD
    premium_reason: str = ""
    credits: int | None = None  # default: the class's credit price, or 0 if paid in money
    payout_cents: int | None = None  # default: the studio's standard rate
    money_cents: int = 0  # an à-la-carte class, paid in the market's currency

    def __post_init__(self):
        if self.credits is None:
            self.credits = 0 if self.money_cents else self.session.credit_price
        if self.payout_cents is None:
            self.payout_cents = self.session.studio.payout_rate_cents

    @property
    def counter(self) -> str:
        return Counter.NETWORK if self.kind == ReservationKind.STANDARD else Counter.PREMIUM


def write_past(planned: list[PastBooking]) -> list[Reservation]:
    """Write past reservations with their ledgers, set-based, in the order given.

    Each member's credit entries follow that order from their current balance, so the caller
    must have checked that every booking was affordable in it. An à-la-carte one (money_cents)
    is paid by a payment instead, linked to its reservation.
    """
    reservations = Reservation.objects.bulk_create(
        [_past_reservation(p) for p in planned], batch_size=2000
    )
    last = dict(
        Member.objects.filter(pk__in={p.member.pk for p in planned}).values_list(
            "pk", "credit_balance"
        )
    )
    credits, payments, earnings = [], [], []
    purchases = []  # (reservation, its à-la-carte payment)
    counters: dict[tuple[int, str], int] = {}
    for p, reservation in zip(planned, reservations, strict=True):
        session, member, market = p.session, p.member, p.session.studio.market
        if p.money_cents:
            purchase = Payment(
                member=member,
                kind=PaymentKind.A_LA_CARTE,
                amount_cents=p.money_cents,
                currency=market.currency,
                status=PaymentStatus.SUCCEEDED,
                provider="local",
                reference=reservation.ref("a_la_carte"),
                description=services.class_label(session),
            )
            payments.append(purchase)
            purchases.append((reservation, purchase))
            _earning(p, reservation, earnings, counters)
            continue
        last[member.pk] -= p.credits
        credits.append(
            CreditEntry(
                member=member,
                kind=CreditKind.BOOKING,
                amount=-p.credits,
                balance_after=last[member.pk],
                reference=f"reservation:{reservation.pk}",
                note=services.class_label(session),
            )
        )
        if p.status != ReservationStatus.ATTENDED:
            last[member.pk] += p.credits
            credits.append(
                CreditEntry(
                    member=member,
                    kind=CreditKind.REFUND,
                    amount=p.credits,
                    balance_after=last[member.pk],
                    reference=reservation.refund_ref,
                    note=services.refund_note(session, GIVEN_BACK[p.status]),
                )
            )
        fee = {
            ReservationStatus.MISSED: (PaymentKind.MISSED_CLASS_FEE, market.missed_class_fee_cents),
            ReservationStatus.LATE_CANCELLED: (
                PaymentKind.LATE_CANCEL_FEE,
                market.late_cancel_fee_cents,
            ),
        }.get(p.status)
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
        _earning(p, reservation, earnings, counters)
    CreditEntry.objects.bulk_create(credits, batch_size=2000)
    Payment.objects.bulk_create(payments, batch_size=2000)
    for reservation, purchase in purchases:
        reservation.payment = purchase
    Reservation.objects.bulk_update([r for r, _ in purchases], ["payment"], batch_size=2000)
    EarningEntry.objects.bulk_create(earnings, batch_size=2000)
    for pk, final in last.items():
        Member.objects.filter(pk=pk).update(credit_balance=final)
    for (pk, counter), n in counters.items():
        field = "network_booked" if counter == Counter.NETWORK else "premium_booked"
        ClassSession.objects.filter(pk=pk).update(**{field: F(field) + n})
    return reservations


def _earning(p: PastBooking, reservation: Reservation, earnings: list, counters: dict) -> None:
    """The studio's payout for a past reservation that was not cancelled free, and the class
    counter it holds if it was a visit."""
    session = p.session
    if p.status != ReservationStatus.CANCELLED:
        earnings.append(
            EarningEntry(
                studio_id=session.studio_id,
                kind=EarningKind.RESERVATION
                if p.kind == ReservationKind.STANDARD
                else EarningKind.PREMIUM,
                amount_cents=p.payout_cents,
                currency=session.studio.market.currency,
                occurred_at=reservation.marked_at or reservation.cancelled_at,
                session=session,
                reference=f"reservation:{reservation.pk}",
                description=f"{reservation.get_kind_display()} · "
                f"{reservation.get_status_display()}",
            )
        )
    if p.status in LIVE_STATUSES_PAST:
        key = (session.pk, p.counter)
        counters[key] = counters.get(key, 0) + 1


def _past_reservation(p: PastBooking) -> Reservation:
    session = p.session
    end = session.starts_at + timedelta(minutes=session.duration_minutes)
    live = p.status in LIVE_STATUSES_PAST
    return Reservation(
        member=p.member,
        session=session,
        studio_id=session.studio_id,
        starts_at=session.starts_at,
        kind=p.kind,
        premium_reason=p.premium_reason,
        counter=p.counter,
        credits_spent=p.credits,
        money_paid_cents=p.money_cents,
        currency=session.studio.market.currency,
        studio_payout_cents=p.payout_cents,
        status=p.status,
        cancelled_at=None if live else given_back_at(session, p.status),
        marked_at=end if live else None,
    )


# --- the history's time line ------------------------------------------------------------------


# A reservation of the history not dated yet: stamped after its class began, which no booking
# through the engine ever is.
HISTORY_UNDATED = Q(created_at__gte=F("starts_at"))


class Moments:
    """When each entry of the demo's history happened, read from its reference.

    The steps write months of plans and classes in bulk, so the database stamps every row with
    the minute of the load. A cycle's grant (and the rollover expiry before it) and its charge
    happened when the cycle began; a past reservation and the credits it took, `BOOKED_AHEAD`
    of its class; a refund or a fee, when the class was cancelled or missed. Anything else
    (today's bookings, a goodwill adjustment, a plan cancelled) happened at the load: None.
    """

    def __init__(self, now):
        # The history's reservations, dated by an earlier run or not. Today's bookings through
        # the engine keep their time, even on a rerun after their class.
        self.past = {
            r.pk: r
            for r in Reservation.objects.filter(
                HISTORY_UNDATED | Q(created_at=F("starts_at") - BOOKED_AHEAD), starts_at__lte=now
            ).only("pk", "starts_at", "cancelled_at", "marked_at", "created_at")
        }

    def of(self, member: Member, reference: str | None):
        if not reference:
            return None
        if reference.startswith(("cycle:", "expiry:", "plan:")):
            number = reference.rsplit(":", 1)[-1]  # "cycle:<key>:<n>", "plan:<pk>:<key>:<n>"
            if member.cycle_anchor is None or not number.isdigit():
                return None
            return add_months(member.cycle_anchor, int(number))
        # "reservation:7", "refund:reservation:7", "missed_class_fee:reservation:7" and alike
        found = RESERVATION_REFERENCE.search(reference)
        reservation = self.past.get(int(found[1])) if found else None
        if reservation is None:
            return None
        if reference.startswith(("reservation:", "a_la_carte:")):
            return reservation.starts_at - BOOKED_AHEAD
        return reservation.cancelled_at or reservation.marked_at


def given_back_at(session: ClassSession, status: str):
    """When a past reservation with this outcome was cancelled or marked a no-show, if it was."""
    return {
        ReservationStatus.LATE_CANCELLED: session.starts_at - timedelta(hours=3),
        ReservationStatus.CANCELLED: session.starts_at - timedelta(days=2),
        ReservationStatus.MISSED: session.starts_at + timedelta(minutes=session.duration_minutes),
    }.get(status)


class Timelines:
    """Members' credits over time, for the planners of past bookings, which pick classes in any
    order: a booking is planned only if the member could pay for it on the day they booked
    and every later balance stays covered, with each renewal's rollover applied as it would
    have been (`retime` replays the ledgers in that order at the end of the load)."""

    def __init__(self, member_pks, now):
        moments = Moments(now)
        members = Member.objects.in_bulk(member_pks)
        self.events: dict[int, list[tuple]] = defaultdict(list)  # (when, order, kind, amount)
        for entry in CreditEntry.objects.filter(member__in=members).order_by("pk"):
            if entry.kind == CreditKind.EXPIRY:
                continue  # recomputed at each grant
            when = moments.of(members[entry.member_id], entry.reference) or entry.created_at
            self.events[entry.member_id].append((when, entry.pk, entry.kind, entry.amount))
        for events in self.events.values():
            events.sort()
        self.order = 10**12  # planned entries are written after every existing one

    def affords(self, member_pk: int, credits: int, booked) -> bool:
        """Whether the member could pay `credits` at `booked`, keeping every later balance."""
        events = list(self.events[member_pk])
        bisect.insort(events, (booked, self.order, CreditKind.BOOKING, -credits))
        return _replay(events)

    def book(self, member_pk: int, credits: int, booked, back=None) -> None:
        """Add a planned booking (and, if its credits came back, when they did)."""
        events = self.events[member_pk]
        self.order += 1
        bisect.insort(events, (booked, self.order, CreditKind.BOOKING, -credits))
        if back is not None:
            self.order += 1
            bisect.insort(events, (back, self.order, CreditKind.REFUND, credits))


def _replay(events) -> bool:
    balance = 0
    for _, _, kind, amount in events:
        if kind == CreditKind.GRANT:  # what was above the cap expired first
            balance = min(balance, max(amount, MIN_ROLLOVER_CAP)) + amount
        elif kind == CreditKind.FORFEIT:
            balance = 0
        else:
            balance += amount
        if balance < 0:
            return False
    return True


def retime(*, scale: int = 1, seed: int = 42) -> str:
    """Date the demo's history when it happened (`Moments`), not when the demo was loaded.

    The last seed step. Each member's ledger is replayed in time order: every balance_after
    is the running sum, each rollover expiry takes what was above the cap at its renewal (the
    bulk steps renewed before anyone booked, so they expired too much; an expiry with nothing
    to take is dropped), a forfeit takes what was left, and the member's balance follows.
    Payments, past reservations and sign-ups are dated the same way. Reruns give the same
    result: the moments come from the references, never from the stamps.
    """
    now = timezone.now()
    moments = Moments(now)
    members = {
        m.pk: m
        for m in Member.objects.select_related("user")
        .filter(Q(cycle_anchor__isnull=False) | Q(payments__isnull=False))
        .distinct()
    }
    entries: dict[int, list[CreditEntry]] = defaultdict(list)
    for entry in CreditEntry.objects.filter(member__in=members).order_by("pk"):
        entries[entry.member_id].append(entry)
    changed, dropped, balances = [], [], {}
    for pk, ledger in entries.items():
        member = members[pk]
        stored = {e.pk: (e.created_at, e.amount, e.balance_after) for e in ledger}
        for entry in ledger:
            entry.created_at = moments.of(member, entry.reference) or entry.created_at
        ledger.sort(key=lambda e: (e.created_at, e.pk))
        grants = {e.reference: e.amount for e in ledger if e.kind == CreditKind.GRANT}
        balance = 0
        for entry in ledger:
            if entry.kind == CreditKind.EXPIRY:
                grant = grants[f"cycle:{entry.reference.removeprefix('expiry:')}"]
                entry.amount = -max(0, balance - max(grant, MIN_ROLLOVER_CAP))
            elif entry.kind == CreditKind.FORFEIT:
                entry.amount = -balance
            if entry.amount == 0:
                dropped.append(entry.pk)
                continue
            balance += entry.amount
            if balance < 0:
                raise ValueError(f"The demo's ledger of member {pk} goes below zero at {entry}.")
            entry.balance_after = balance
            if stored[entry.pk] != (entry.created_at, entry.amount, balance):
                changed.append(entry)
        balances[pk] = balance
    CreditEntry.objects.filter(pk__in=dropped).delete()
    CreditEntry.objects.bulk_update(
        changed, ["created_at", "amount", "balance_after"], batch_size=UPDATE_BATCH
    )
    moved = [members[pk] for pk, b in balances.items() if b != members[pk].credit_balance]
    for member in moved:
        member.credit_balance = balances[member.pk]
    Member.objects.bulk_update(moved, ["credit_balance"], batch_size=UPDATE_BATCH)
    payments, first_paid = [], {}
    for payment in Payment.objects.filter(member__in=members):
        when = moments.of(members[payment.member_id], payment.reference)
        if when is not None and when != payment.created_at:
            payment.created_at = when
            payments.append(payment)
        first = first_paid.get(payment.member_id, payment.created_at)
        first_paid[payment.member_id] = min(first, payment.created_at)
    Payment.objects.bulk_update(payments, ["created_at"], batch_size=UPDATE_BATCH)
    dated = Reservation.objects.filter(HISTORY_UNDATED, starts_at__lte=now).update(
        created_at=F("starts_at") - BOOKED_AHEAD
    )
    # Each member signed up a few minutes before their first plan or purchase.
    joined = []
    for pk, member in members.items():
        first = member.cycle_anchor or first_paid.get(pk)
        if first is not None and first - SIGN_UP_AHEAD != member.created_at:
            member.created_at = member.user.date_joined = first - SIGN_UP_AHEAD
            joined.append(member)
    Member.objects.bulk_update(joined, ["created_at"], batch_size=UPDATE_BATCH)
    User.objects.bulk_update([m.user for m in joined], ["date_joined"], batch_size=UPDATE_BATCH)
    return (
        f"{len(changed)} credit entries, {len(payments)} payments and "
        f"{dated} past reservations dated"
    )


SIGN_UP_AHEAD = timedelta(minutes=5)
# bulk_update sends one CASE branch per row, which the database tries in turn for each row:
# small batches keep that linear (2,000 took minutes at scale 10; 250, seconds).
UPDATE_BATCH = 250
