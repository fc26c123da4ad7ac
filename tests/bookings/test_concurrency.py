"""The engine under real concurrency on PostgreSQL (threads, one connection each).

`django_db(transaction=True)`: a wrapping test transaction would hide a missing lock.
"""

import random
from datetime import timedelta

import pytest
from django.utils import timezone

from bookings import services
from bookings.errors import BookingError, SoldOut
from bookings.models import LIVE_STATUSES, Reservation, ReservationKind, WaitlistEntry
from members import services as members_services
from members.models import CreditEntry, Member, Payment, PaymentKind
from studios import services as studio_services
from studios.errors import InventoryError
from studios.models import ClassSession
from tests import factories, payments
from tests.invariants import assert_invariants
from tests.race import run_in_threads

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def subscribed_members(count: int, market, plan) -> list[Member]:
    members = []
    for _ in range(count):
        member = factories.MemberFactory(home_market=market)
        members_services.choose_plan(member, plan)
        members.append(member)
    return members


def test_fifty_members_racing_for_the_last_five_spots_get_exactly_five(market, plan, studio):
    session = factories.ClassSessionFactory(
        studio=studio, capacity=30, network_spots=10, network_booked=5
    )
    members = subscribed_members(50, market, plan)

    results = run_in_threads(50, lambda i: services.book(members[i], session.pk))

    booked = [r for r in results if isinstance(r, Reservation)]
    refused = [r for r in results if isinstance(r, SoldOut)]
    assert len(booked) == 5 and len(refused) == 45, [
        r for r in results if not isinstance(r, Reservation | SoldOut)
    ]
    session.refresh_from_db()
    assert session.network_booked == 10
    # network_booked started at 5 without rows: count only this run's reservations here.
    assert Reservation.objects.filter(session=session).count() == 5


def test_one_member_booking_twenty_classes_at_once_with_credits_for_one_gets_one(market, studio):
    plan = factories.PlanFactory(market=market, credits_per_cycle=10)
    (member,) = subscribed_members(1, market, plan)
    sessions = [
        factories.ClassSessionFactory(studio=factories.StudioFactory(market=market), credit_price=8)
        for _ in range(20)
    ]

    results = run_in_threads(
        20, lambda i: services.book(Member.objects.get(pk=member.pk), sessions[i].pk)
    )

    assert sum(isinstance(r, Reservation) for r in results) == 1, results
    assert all(isinstance(r, Reservation | BookingError) for r in results), results
    member.refresh_from_db()
    assert member.credit_balance == 2
    assert_invariants()


def test_same_idempotency_key_fired_concurrently_books_once(market, plan, studio):
    (member,) = subscribed_members(1, market, plan)
    session = factories.ClassSessionFactory(studio=studio)

    results = run_in_threads(
        8, lambda i: services.book(member, session.pk, idempotency_key="same-key")
    )

    assert {r.pk for r in results if isinstance(r, Reservation)} == {
        Reservation.objects.get().pk
    }, results
    assert CreditEntry.objects.filter(kind="booking").count() == 1


def test_cancellations_racing_waitlist_promotions_never_exceed_the_room(market, plan, studio):
    session = factories.ClassSessionFactory(
        studio=studio, capacity=8, network_spots=6, studio_booked=2
    )
    holders = subscribed_members(6, market, plan)
    waiters = subscribed_members(10, market, plan)
    reservations = [services.book(m, session.pk) for m in holders]
    for m in waiters:
        services.join_waitlist(m, session.pk)

    def work(i: int):
        if i < 6:
            return services.cancel(reservations[i].pk)
        # Waiting members also try to book directly while spots churn.
        return services.book(waiters[i - 6], session.pk)

    run_in_threads(16, work)

    session.refresh_from_db()
    live = Reservation.objects.filter(session=session, status__in=LIVE_STATUSES).count()
    assert live == session.network_booked <= 6
    assert live == 6  # every freed spot went to a waiting member
    assert WaitlistEntry.objects.filter(session=session, status="waiting").count() == 4
    assert_invariants()


def test_a_random_mix_of_book_cancel_and_promote_keeps_every_invariant(market, plan):
    studios = [factories.StudioFactory(market=market, monthly_visit_limit=3) for _ in range(2)]
    sessions = [
        factories.ClassSessionFactory(
            studio=random.Random(i).choice(studios),
            capacity=6,
            network_spots=3,
            studio_booked=1,
            credit_price=4,
            starts_at=timezone.now() + timedelta(hours=5 + i),
        )
        for i in range(4)
    ]
    members = subscribed_members(12, market, plan)

    def work(i: int):
        rng = random.Random(i)
        member = members[i % len(members)]
        done = []
        for _ in range(6):
            session = rng.choice(sessions)
            action = rng.random()
            try:
                if action < 0.55:
                    done.append(services.book(Member.objects.get(pk=member.pk), session.pk))
                elif action < 0.8:
                    mine = Reservation.objects.filter(member=member, status="booked").first()
                    if mine:
                        services.cancel(mine.pk, member=member)
                else:
                    services.join_waitlist(member, session.pk)
            except BookingError:
                pass
        return done

    results = run_in_threads(24, work)

    assert not [r for r in results if isinstance(r, Exception)], results
    assert_invariants()


def test_mirror_image_cancellations_with_promotions_do_not_deadlock(market, plan, studio):
    # A holds a spot in S1 and waits for S2; B the other way round. Both cancel at once: each
    # cancellation promotes the other member, which must not wait for the other's lock forever.
    rounds = 5
    for _ in range(rounds):
        s1 = factories.ClassSessionFactory(studio=studio, network_spots=1)
        s2 = factories.ClassSessionFactory(studio=studio, network_spots=1)
        a, b = subscribed_members(2, market, plan)
        ra, rb = services.book(a, s1.pk), services.book(b, s2.pk)
        services.join_waitlist(a, s2.pk)
        services.join_waitlist(b, s1.pk)

        pair = (ra.pk, rb.pk)
        results = run_in_threads(2, lambda i, pair=pair: services.cancel(pair[i]))

        assert all(isinstance(r, Reservation) for r in results), results
        # Each freed spot went to the other member, now or by the retry task.
        assert Reservation.objects.filter(member=b, session=s1, status="booked").exists()
        assert Reservation.objects.filter(member=a, session=s2, status="booked").exists()
    assert_invariants()


def test_staff_resizing_a_class_while_members_book_never_leave_it_overbooked(market, plan):
    # The manager shrinks the room and the desk adds walk-ins while sixteen members book,
    # standard and Premium: every change either fits what is booked when it takes the lock or
    # is refused with the reason, and every booking sees the room as it is then.
    members = subscribed_members(16, market, plan)
    for _ in range(4):  # a studio a round, so that no member reaches its monthly limit
        studio = factories.StudioFactory(market=market)
        session = factories.ClassSessionFactory(studio=studio, capacity=20, network_spots=12)

        def work(i: int, pk=session.pk, studio=studio):
            if i == 16:
                return studio_services.update_session(
                    studio, pk, by=None, capacity=10, network_spots=8
                )
            if i == 17:
                return studio_services.update_session(studio, pk, by=None, studio_booked=4)
            kind = ReservationKind.PREMIUM if i % 4 == 3 else ReservationKind.STANDARD
            return services.book(members[i], pk, offer_kind=kind)

        results = run_in_threads(18, work)

        bookings, changes = results[:16], results[16:]
        assert all(isinstance(r, Reservation | BookingError) for r in bookings), results
        assert all(isinstance(r, ClassSession | InventoryError) for r in changes), results
        session.refresh_from_db()
        if isinstance(results[16], ClassSession):
            assert (session.capacity, session.network_spots) == (10, 8)
        else:  # more were booked than the smaller room or allocation holds
            assert set(results[16].fields) <= {"capacity", "network_spots"}, results[16].fields
            assert (session.capacity, session.network_spots) == (20, 12)
        assert session.studio_booked == (4 if isinstance(results[17], ClassSession) else 0)
        booked = [r for r in bookings if isinstance(r, Reservation)]
        held = session.network_booked + session.premium_booked + session.studio_booked
        assert len(booked) == session.network_booked + session.premium_booked
        assert held <= session.capacity
    assert_invariants()


def test_one_member_racing_into_every_class_of_a_studio_stays_within_its_monthly_limit(
    market, plan
):
    """The limit is counted under the member's lock: a booking that waited for that lock must
    see the visit the transaction ahead of it committed."""
    studio = factories.StudioFactory(market=market, monthly_visit_limit=2)
    (member,) = subscribed_members(1, market, plan)
    sessions = [factories.ClassSessionFactory(studio=studio, credit_price=1) for _ in range(12)]

    results = run_in_threads(
        12, lambda i: services.book(Member.objects.get(pk=member.pk), sessions[i].pk)
    )

    booked = [r for r in results if isinstance(r, Reservation)]
    assert len(booked) == 2, results
    assert all(isinstance(r, Reservation | BookingError) for r in results), results
    assert_invariants()


def test_booking_holds_the_session_before_it_waits_for_the_member(market, plan, studio):
    """One statement locks both rows (bookings/sql.py): the session first, as docs/locking.md
    orders, so it cannot deadlock with a cancellation holding the session."""
    import threading
    import time

    import psycopg
    from django.db import connection

    (member,) = subscribed_members(1, market, plan)
    session = factories.ClassSessionFactory(studio=studio)
    params = connection.get_connection_params()
    dsn = psycopg.conninfo.make_conninfo(
        **{k: params[k] for k in ("dbname", "user", "password", "host", "port") if params.get(k)}
    )
    with psycopg.connect(dsn) as holder, psycopg.connect(dsn, autocommit=True) as probe:
        holder.execute(
            f"SELECT 1 FROM {Member._meta.db_table} WHERE id = %s FOR UPDATE", [member.pk]
        )
        result = []
        booker = threading.Thread(
            target=lambda: (result.append(services.book(member, session.pk)), connection.close())
        )
        booker.start()
        for _ in range(200):  # until the booking waits for the member's lock
            waiting = probe.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND datname = current_database()"
            ).fetchone()[0]
            if waiting:
                break
            time.sleep(0.05)
        assert waiting == 1
        with pytest.raises(psycopg.errors.LockNotAvailable), probe.transaction():
            probe.execute(
                f"SELECT 1 FROM {ClassSession._meta.db_table} WHERE id = %s FOR UPDATE NOWAIT",
                [session.pk],
            )
        holder.rollback()
        booker.join(timeout=30)
    assert isinstance(result[0], Reservation)
    assert_invariants()


def test_a_fee_answered_late_while_the_studio_cancels_the_class_is_refunded_exactly_once(
    market, plan, studio, settings
):
    members = subscribed_members(8, market, plan)
    sessions = []
    settings.PAYMENT_PROVIDER = payments.LOST_ANSWERS  # every fee is made, its answer lost
    for member in members:
        session = factories.ClassSessionFactory(
            studio=studio, starts_at=timezone.now() + timedelta(hours=3)
        )
        reservation = services.book(member, session.pk)
        services.cancel(reservation.pk, member=member)  # late: the fee is left pending
        sessions.append(session)
    fees = Payment.objects.filter(kind=PaymentKind.LATE_CANCEL_FEE)
    assert [f.status for f in fees] == ["pending"] * 8
    payments.LostAnswers.delay = 0.02  # each answer takes a while, so the two overlap

    def work(i: int):
        if i == 0:
            return members_services.settle_pending_payments()
        return [services.cancel_session(s.pk) for s in reversed(sessions)]

    results = run_in_threads(2, work)

    assert not any(isinstance(r, Exception) for r in results), results
    for fee in fees.all():  # whichever came first, each fee is given back, and once
        assert fee.status == "succeeded"
        assert [r.amount_cents for r in fee.refunds.all()] == [-fee.amount_cents], fee
    assert_invariants()
