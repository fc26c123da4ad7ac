"""The booking engine under random sequences of what members, staff and the nightly jobs do.

Each example builds a small studio (a class with a network allocation, one offering no network
spots, Premium and à la carte on) and runs 10 to 40 operations on it while the clock moves:
booking each kind of offer, paying or abandoning a hold, cancelling early and late, waiting
lists, the desk's own bookings, allocation changes, the studio cancelling a class, check-in,
no-shows, undoing a mark and the jobs that expire holds, mark the unmarked and settle what the
payment service did not answer. Half the examples run against a service whose every first
answer is lost. A refusal is part of the product; any other exception fails the example.
After every operation:

- DESIGN.md's invariants (tests.invariants): no room overbooked, counters equal to the live
  reservations, balances equal to their ledgers and never negative;
- each reservation's own ledgers agree with its state: the credits it holds, the money it
  keeps (its price, and a fee for a late cancellation or a no-show) and the studio's payout,
  paid exactly once when the member came, cancelled late or did not show, and else not at all;
- each charge and refund the payment service made, by its own record, is a payment on record.
"""

import re
from collections import defaultdict
from datetime import timedelta

from django.conf import settings
from django.test import override_settings
from django.utils import timezone
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase as HypothesisTestCase

from bookings import services
from bookings.errors import BookingError
from bookings.models import Reservation, ReservationStatus
from members import services as members_services
from members.errors import MemberError
from members.models import CreditEntry, Payment, PaymentKind, PaymentStatus
from premium.models import PremiumSettings
from studios import outbox
from studios import services as studios_services
from studios.errors import InventoryError
from studios.models import EarningEntry
from tests import factories, payments
from tests.invariants import assert_invariants

MEMBERS = 5  # 0-2 with a plan, 3 with a plan and a card that is declined, 4 with no plan
PAYS_STUDIO = {
    ReservationStatus.ATTENDED,
    ReservationStatus.MISSED,
    ReservationStatus.LATE_CANCELLED,
}
HOLDS_CREDITS = {ReservationStatus.BOOKED, ReservationStatus.ATTENDED}
KEEPS_PRICE = PAYS_STUDIO | {ReservationStatus.BOOKED}
FEE_FOR = {ReservationStatus.LATE_CANCELLED, ReservationStatus.MISSED}

# Weighted by repetition: members book and the clock moves more often than a class is cancelled.
OPERATIONS = (
    ["book"] * 4
    + ["pay", "cancel", "mark", "later"] * 2
    + ["later", "waitlist", "desk", "allocation", "cancel_class", "undo", "cancel_plan", "jobs"]
)
OFFERS = ["standard", "premium", "a_la_carte"]
# Steps of the clock: the classes start in 1.5 and 6 h, and a hold lasts 10 minutes.
HOURS = [0.05, 0.25, 0.5, 1, 2, 3, 6, 50]
operations = st.lists(
    st.tuples(
        st.sampled_from(OPERATIONS),
        st.integers(0, MEMBERS - 1),  # which member
        st.integers(0, 1),  # which class
        st.integers(0, 7),  # the offer, the number of places, the mark or the hours
    ),
    min_size=10,
    max_size=40,
)


def _world():
    market = factories.MarketFactory()
    studio = factories.StudioFactory(
        market=market, monthly_visit_limit=2, cancellation_window_hours=2
    )
    owner = factories.UserFactory()
    PremiumSettings.objects.create(studio=studio, price_cents=3000, max_spots=2)
    start = timezone.now() + timedelta(hours=1.5)
    sessions = [
        factories.ClassSessionFactory(studio=studio, starts_at=start, capacity=4, network_spots=2),
        factories.ClassSessionFactory(
            studio=studio, starts_at=start + timedelta(hours=4.5), capacity=3, network_spots=0
        ),
    ]
    plan = factories.PlanFactory(market=market, credits_per_cycle=30)
    members = []
    for i in range(MEMBERS):
        member = factories.MemberFactory(home_market=market)
        if i < 4:
            members_services.choose_plan(member, plan, now=timezone.now() - timedelta(days=1))
        if i == 3:  # the plan is paid; from now on the card is declined (the local provider)
            member.user.email = f"m{member.pk}+decline@example.com"
            member.user.save(update_fields=["email"])
        members.append(member)
    return studio, owner, sessions, members


def _pick(studio, pair: int):
    """One of the studio's reservations, whoever holds it: the (member, class) pair numbers it,
    by their places in the example (not their ids, which differ from run to run)."""
    reservations = list(Reservation.objects.filter(studio=studio).order_by("pk"))
    if not reservations:
        return None
    return reservations[pair % len(reservations)]


def _act(op, member, session, arg, *, pair, now, studio, owner):
    match op:
        case "book":
            booked = services.book(member, session.pk, offer_kind=OFFERS[arg % 3], now=now)
            if booked.status == ReservationStatus.HELD and arg > 3:  # checks out at once
                services.pay_hold(booked.pk, member=member, now=now)
        case "pay":  # the member pays their hold on the class, or tries to pay another's
            held = Reservation.objects.filter(
                member=member, session=session, status=ReservationStatus.HELD
            ).first()
            if reservation := held or _pick(studio, pair):
                services.pay_hold(reservation.pk, member=reservation.member, now=now)
        case "cancel":
            if reservation := _pick(studio, pair):
                services.cancel(reservation.pk, member=reservation.member, now=now)
        case "waitlist":
            services.join_waitlist(member, session.pk, now=now)
        case "desk" | "allocation" | "cancel_class":
            # The Partner Dashboard refuses changes to a class that has started (by the clock).
            if now >= session.starts_at:
                return
            if op == "cancel_class":
                # Once someone booked it: cancelling an empty class only ends the example early.
                if Reservation.objects.filter(session=session).exists():
                    services.cancel_session(session.pk, now=now)
            else:
                field = "studio_booked" if op == "desk" else "network_spots"
                studios_services.update_session(
                    studio, session.pk, by=owner, **{field: arg % (5 if op == "desk" else 4)}
                )
        case "mark":
            if reservation := _pick(studio, pair):
                mark = services.mark_missed if arg % 2 else services.mark_attended
                mark(reservation.pk, now=now)
        case "undo":
            if reservation := _pick(studio, pair):
                services.undo_mark(reservation.pk, now=now)
        case "cancel_plan":
            members_services.cancel_plan(member, now=now)


# Every ledger reference of a reservation: "<what>:reservation:<pk>", or "reservation:<pk>" for
# the booking and the payout, each with ":v<n>" after an undone mark.
REFERENCE = re.compile(r"^(?:[a-z_-]+:)?reservation:([0-9]+)(?::v[0-9]+)?$")


def _by_reservation(model, pks: list[int], *fields: str) -> dict[int, list[tuple]]:
    """The ledger rows of `model` (their `fields`) of each of these reservations, in one query."""
    ours = REFERENCE.pattern.replace("([0-9]+)", f"({'|'.join(map(str, pks))})")
    rows = defaultdict(list)
    for reference, *values in model.objects.filter(reference__regex=ours).values_list(
        "reference", *fields
    ):
        rows[int(REFERENCE.match(reference)[1])].append(tuple(values))
    return rows


def _assert_each_reservation_agrees_with_its_ledgers(studio, lost_answers: bool) -> None:
    reservations = Reservation.objects.filter(studio=studio).select_related(
        "member__user", "session__studio__market"
    )
    pks = [r.pk for r in reservations]
    if not pks:
        return
    credit_rows = _by_reservation(CreditEntry, pks, "amount")
    payment_rows = _by_reservation(Payment, pks, "reference", "kind", "status", "amount_cents")
    payout_rows = _by_reservation(EarningEntry, pks, "amount_cents")
    for r in reservations:
        payments_of_r = payment_rows[r.pk]
        # A class the studio cancelled (before it started) pays nobody and charges nobody.
        happened = r.session.status != "cancelled"
        credits = sum(amount for (amount,) in credit_rows[r.pk])
        assert credits == (-r.credits_spent if r.status in HOLDS_CREDITS else 0), r
        market = r.session.studio.market
        fee = 0
        if happened and r.status in FEE_FOR and not r.money_paid_cents:
            late = r.status == ReservationStatus.LATE_CANCELLED
            kind = PaymentKind.LATE_CANCEL_FEE if late else PaymentKind.MISSED_CLASS_FEE
            made = any(
                reference == r.ref(kind) and status == PaymentStatus.SUCCEEDED
                for reference, _, status, _ in payments_of_r
            )
            # Charged at once, but for a declined card; or once a sweep heard it was made.
            if made if lost_answers else "+decline@" not in r.member.user.email:
                fee = market.late_cancel_fee_cents if late else market.missed_class_fee_cents
        price = r.money_paid_cents if happened and r.status in KEEPS_PRICE else 0
        # What the member paid: charges the service confirmed, less every refund it did not
        # refuse (one not answered yet is on its way, and is never made twice).
        charges = {
            PaymentKind.A_LA_CARTE,
            PaymentKind.LATE_CANCEL_FEE,
            PaymentKind.MISSED_CLASS_FEE,
        }
        money = sum(
            amount
            for _, kind, status, amount in payments_of_r
            if (kind in charges and status == PaymentStatus.SUCCEEDED)
            or (kind == PaymentKind.REFUND and status != PaymentStatus.FAILED)
        )
        assert money == price + fee, (r, r.status, money, price, fee)
        payout = sum(amount for (amount,) in payout_rows[r.pk])
        assert payout == (r.studio_payout_cents if happened and r.status in PAYS_STUDIO else 0), r


class TestEngineModel(HypothesisTestCase):
    """Each example runs in a transaction of its own, rolled back after it: it starts from an
    empty database, so the jobs it runs see its world alone and a failing example replays on its
    own."""

    def setup_example(self):
        super().setup_example()
        payments.LostAnswers.made.clear()  # what the provider made in an example rolled back
        payments.LostAnswers.calls.clear()

    @hypothesis_settings(max_examples=100, derandomize=True, deadline=None)
    @given(ops=operations, lost_answers=st.booleans())
    def test_every_sequence_of_operations_keeps_the_books_straight(self, ops, lost_answers):
        with outbox.silenced():  # the e-mails are not what this test looks at
            studio, owner, sessions, members = _world()
        now = timezone.now()
        # Half the examples run against a payment service whose every first answer is lost:
        # each charge and refund is left pending, and a later sweep finds it made.
        provider = payments.LOST_ANSWERS if lost_answers else settings.PAYMENT_PROVIDER
        with override_settings(PAYMENT_PROVIDER=provider):
            _run(ops, now, studio, owner, sessions, members, lost_answers)


def _run(ops, now, studio, owner, sessions, members, lost_answers: bool) -> None:
    for op, m, s, arg in ops:
        if op == "later":
            now += timedelta(hours=HOURS[arg])
            continue
        if op == "jobs":  # what the periodic tasks do, at this hour
            services.expire_holds(now=now)
            services.mark_unmarked_attended(now=now)
            for session in sessions:
                services.promote_waitlist(session.pk, now=now)
            members_services.settle_pending_payments(now=now)
            services.settle_late_payments(now=now)
        member, session = members[m], sessions[s]
        try:
            with outbox.silenced():
                _act(op, member, session, arg, pair=m * 2 + s, now=now, studio=studio, owner=owner)
        except (BookingError, MemberError, InventoryError):
            pass  # a refusal, with its message: the product's answer to a wrong move
        assert_invariants(studio=studio)
        _assert_each_reservation_agrees_with_its_ledgers(studio, lost_answers)
        # Nothing the payment service made is unknown to the product: each charge or refund
        # it made (by its own record) is a payment on record.
        made = {ref for ref, result in payments.LostAnswers.made.items() if result.ok}
        assert made <= set(Payment.objects.values_list("reference", flat=True))
