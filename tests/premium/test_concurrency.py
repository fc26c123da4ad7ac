"""Premium under real concurrency on PostgreSQL."""

from datetime import timedelta

import pytest

from bookings import services
from bookings.errors import BookingError
from bookings.models import LIVE_STATUSES, Reservation, ReservationStatus
from members import services as members_services
from members.errors import PaymentUnavailable
from members.models import Payment, PaymentKind
from premium.models import PremiumSettings
from tests import factories
from tests.race import run_in_threads

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_premium_and_standard_racing_for_the_last_spots_never_exceed_the_room(market, plan, studio):
    PremiumSettings.objects.create(studio=studio, price_cents=3000, max_spots=5)
    studio.monthly_visit_limit = 1
    studio.save()
    # Room 10: studio 2, network 4 of 6 taken -> 4 places left: 2 standard, 2 beyond the allocation.
    session = factories.ClassSessionFactory(
        studio=studio, capacity=10, network_spots=6, network_booked=4, studio_booked=2
    )
    members = []
    for i in range(24):
        member = factories.MemberFactory(home_market=market)
        members_services.choose_plan(member, plan)
        if i % 2:  # half of them reached the monthly limit: Premium is their way in
            services.book(member, factories.ClassSessionFactory(studio=studio, credit_price=1).pk)
        members.append(member)

    def work(i: int):
        return services.book(members[i], session.pk, offer_kind="premium" if i % 2 else "standard")

    results = run_in_threads(24, work)

    assert all(isinstance(r, Reservation | BookingError) for r in results), results
    session.refresh_from_db()
    live = Reservation.objects.filter(session=session, status__in=LIVE_STATUSES)
    assert (
        live.filter(counter="network").count() == 2 and live.filter(counter="premium").count() == 2
    )
    assert (session.network_booked, session.premium_booked) == (6, 2)
    assert (
        session.studio_booked + session.network_booked + session.premium_booked == session.capacity
    )


def test_an_expiring_hold_racing_its_payment_ends_in_exactly_one_outcome(market, studio):
    PremiumSettings.objects.create(studio=studio, price_cents=2500, max_spots=3)
    for _ in range(8):
        member = factories.MemberFactory(home_market=market)
        session = factories.ClassSessionFactory(studio=studio)
        held = services.book(member, session.pk, offer_kind="a_la_carte")
        edge = held.hold_expires_at

        def work(i: int, held=held, member=member, edge=edge):
            if i == 0:
                return services.expire_holds(now=edge)
            return services.pay_hold(held.pk, member=member, now=edge - timedelta(milliseconds=1))

        results = run_in_threads(2, work)

        held.refresh_from_db()
        session.refresh_from_db()
        paid = Payment.objects.filter(
            kind=PaymentKind.A_LA_CARTE, member=member, status="succeeded"
        ).count()
        if held.status == ReservationStatus.BOOKED:
            assert paid == 1 and session.premium_booked == 1 and results[0] == 0
        else:
            assert held.status == ReservationStatus.EXPIRED, results
            assert (
                paid == 0 and session.premium_booked == 0 and isinstance(results[1], BookingError)
            )


def test_staff_deciding_one_recommendation_at_once_add_its_spots_at_most_once(studio):
    from premium import services as premium_services
    from premium.models import Opportunity, OpportunityStatus
    from studios.errors import InventoryError

    for round_ in range(4):
        session = factories.ClassSessionFactory(
            studio=studio, capacity=20, network_spots=8, network_booked=8
        )
        opportunity = factories.OpportunityFactory(session=session)

        def work(i: int, pk=opportunity.pk, dismiss=round_ % 2 == 1):
            decided = Opportunity.objects.get(pk=pk)  # each request reads it as still open
            if dismiss and i == 0:
                return premium_services.dismiss_opportunity(decided, by=None)
            return premium_services.accept_opportunity(decided, by=None)

        results = run_in_threads(4, work)

        decided = [r for r in results if isinstance(r, Opportunity)]
        assert len(decided) == 1, results
        assert all(isinstance(r, InventoryError) for r in results if r not in decided), results
        opportunity.refresh_from_db()
        session.refresh_from_db()
        added = 2 if opportunity.status == OpportunityStatus.ACCEPTED else 0
        assert decided[0].status == opportunity.status
        assert session.network_spots == 8 + added


def test_accepting_a_recommendation_keeps_what_the_desk_synced_meanwhile(studio):
    from premium import services as premium_services
    from premium.models import Opportunity, OpportunityStatus
    from studios import services as studio_services

    for _ in range(10):
        session = factories.ClassSessionFactory(
            studio=studio, capacity=20, network_spots=8, network_booked=8, studio_booked=4
        )
        opportunity = factories.OpportunityFactory(session=session)

        def work(i: int, pk=opportunity.pk, session_id=session.pk):
            if i == 0:
                return studio_services.update_session(
                    studio, session_id, by=None, studio_booked=7
                )  # the desk sold three more
            return premium_services.accept_opportunity(Opportunity.objects.get(pk=pk), by=None)

        results = run_in_threads(2, work)

        assert not [r for r in results if isinstance(r, Exception)], results
        session.refresh_from_db()
        opportunity.refresh_from_db()
        assert opportunity.status == OpportunityStatus.ACCEPTED
        assert (session.network_spots, session.studio_booked) == (10, 7)


def test_paying_again_while_the_sweep_asks_about_the_same_charge_asks_once_more(
    member, studio, settings
):
    """A member pays again just as the sweep asks the provider about their unanswered try:
    the row lock lets one of them ask; the other reads its answer. One booking, one charge."""
    from tests import payments

    PremiumSettings.objects.create(studio=studio, price_cents=3000)
    held = services.book(
        member, factories.ClassSessionFactory(studio=studio).pk, offer_kind="a_la_carte"
    )
    settings.PAYMENT_PROVIDER = payments.LOST_ANSWERS
    with pytest.raises(PaymentUnavailable):
        services.pay_hold(held.pk, member=member)
    payments.LostAnswers.delay = 0.1  # the provider's round trip: the two overlap

    results = run_in_threads(
        2,
        lambda i: (
            services.pay_hold(held.pk, member=member)
            if i == 0
            else members_services.settle_pending_payments()
        ),
    )

    assert isinstance(results[0], Reservation), results
    assert results[0].status == ReservationStatus.BOOKED
    charge = Payment.objects.get(kind=PaymentKind.A_LA_CARTE)
    assert payments.LostAnswers.calls == {charge.reference: 2}  # the first try, one more ask
    assert charge.status == "succeeded" and not Payment.objects.filter(kind="refund").exists()
    assert services.settle_late_payments() == {"confirmed": 0, "refunded": 0}
