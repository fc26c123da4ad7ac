"""The booking engine through its services: rules, refusals, ledgers, e-mails."""

import re
from datetime import datetime, time, timedelta
from html import escape

import pytest
from django.core import mail
from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone

from bookings import services
from bookings.errors import (
    AlreadyBooked,
    IdempotencyConflict,
    LimitReached,
    NoActivePlan,
    NotBookable,
    NotCancellable,
    NotEnoughCredits,
    PriceChanged,
    SessionNotFound,
    SoldOut,
)
from bookings.models import Reservation, ReservationStatus, Source, WaitlistEntry
from members import services as members_services
from members.models import CreditEntry, CreditKind, Payment, PaymentKind
from studios.models import ClassSession, EarningEntry, EarningKind
from tests import factories, payments

pytestmark = pytest.mark.django_db


def balance_matches_ledger(member) -> bool:
    member.refresh_from_db()
    total = CreditEntry.objects.filter(member=member).aggregate(s=Sum("amount"))["s"] or 0
    return member.credit_balance == total


def test_booking_takes_credits_a_spot_and_sends_an_email(
    active_member, session, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        reservation = services.book(active_member, session.pk)
    session.refresh_from_db()
    assert session.network_booked == 1
    assert reservation.credits_spent == 8 and reservation.status == ReservationStatus.BOOKED
    assert active_member.credit_balance == 22 and balance_matches_ledger(active_member)
    assert len(mail.outbox) == 1 and "You're booked" in mail.outbox[0].subject
    assert mail.outbox[0].alternatives  # an HTML part beside the text
    html = mail.outbox[0].alternatives[0].content
    # Screen readers in mail apps read it in its language, and a tab shows what it is.
    assert '<html lang="en">' in html and f"<title>{session.class_type.name} at " in html
    # It greets the member by the name they gave, and plainly when they gave none.
    assert mail.outbox[0].body.startswith("Hi,\n")
    active_member.user.first_name = "Ada"
    active_member.user.save(update_fields=["first_name"])
    with django_capture_on_commit_callbacks(execute=True):
        services.cancel(reservation.pk, member=active_member)
    assert mail.outbox[-1].body.startswith("Hi Ada,\n")


def test_a_line_break_in_a_name_does_not_stop_the_email(
    active_member, studio, django_capture_on_commit_callbacks
):
    studio.name = "Core\r\nBcc: everyone@example.com"
    studio.save(update_fields=["name"])
    session = factories.ClassSessionFactory(studio=studio, class_type__name="Flow\nYoga")
    with django_capture_on_commit_callbacks(execute=True):
        services.book(active_member, session.pk)
    assert len(mail.outbox) == 1
    message = mail.outbox[0].message()  # what goes on the wire: one Subject line, no new header
    assert message["Subject"] == "You're booked: Flow Yoga at Core Bcc: everyone@example.com"
    assert message["Bcc"] is None and mail.outbox[0].recipients() == [active_member.user.email]


def test_booking_email_shows_the_studio_local_time(
    active_member, studio, django_capture_on_commit_callbacks
):
    start = timezone.now().replace(microsecond=0) + timedelta(days=2)
    session = factories.ClassSessionFactory(studio=studio, starts_at=start)
    with django_capture_on_commit_callbacks(execute=True):
        services.book(active_member, session.pk)
    local = timezone.localtime(start, studio.market.tzinfo)
    assert f"{local:%H:%M}" in mail.outbox[0].body


def test_booking_twice_is_refused(active_member, session):
    services.book(active_member, session.pk)
    with pytest.raises(AlreadyBooked):
        services.book(active_member, session.pk)
    assert Reservation.objects.count() == 1


def test_replaying_an_idempotency_key_returns_the_first_reservation(active_member, session):
    first = services.book(active_member, session.pk, idempotency_key="k-1")
    again = services.book(active_member, session.pk, idempotency_key="k-1")
    assert first.pk == again.pk
    assert Reservation.objects.count() == 1
    assert CreditEntry.objects.filter(kind=CreditKind.BOOKING).count() == 1
    other = factories.ClassSessionFactory(studio=session.studio)
    with pytest.raises(IdempotencyConflict):
        services.book(active_member, other.pk, idempotency_key="k-1")


def test_sold_out_network_is_refused(active_member, studio):
    session = factories.ClassSessionFactory(
        studio=studio, capacity=20, network_spots=2, network_booked=2
    )
    with pytest.raises(SoldOut):
        services.book(active_member, session.pk)


def test_the_room_bounds_the_network(active_member, studio):
    # 10 network spots, but the studio filled 20 of 20 itself: no room left.
    session = factories.ClassSessionFactory(
        studio=studio, capacity=20, network_spots=10, studio_booked=20
    )
    with pytest.raises(SoldOut):
        services.book(active_member, session.pk)


def test_monthly_visit_limit_per_studio(active_member, studio):
    studio.monthly_visit_limit = 2
    studio.save()
    for _ in range(2):
        services.book(
            active_member, factories.ClassSessionFactory(studio=studio, credit_price=3).pk
        )
    with pytest.raises(LimitReached, match="2 visits"):
        services.book(
            active_member, factories.ClassSessionFactory(studio=studio, credit_price=3).pk
        )
    # Another studio is not limited by this one.
    services.book(
        active_member,
        factories.ClassSessionFactory(
            studio=factories.StudioFactory(market=studio.market), credit_price=3
        ).pk,
    )


def test_cancelled_visits_do_not_count_toward_the_limit(active_member, studio):
    studio.monthly_visit_limit = 1
    studio.save()
    first = services.book(
        active_member, factories.ClassSessionFactory(studio=studio, credit_price=3).pk
    )
    services.cancel(first.pk)
    services.book(active_member, factories.ClassSessionFactory(studio=studio, credit_price=3).pk)


def test_not_enough_credits(active_member, studio):
    session = factories.ClassSessionFactory(studio=studio, credit_price=31)
    with pytest.raises(NotEnoughCredits, match="31 credits; you have 30"):
        services.book(active_member, session.pk)
    assert not Reservation.objects.exists() and balance_matches_ledger(active_member)


def test_without_an_active_plan_credits_cannot_book(member, session):
    with pytest.raises(NoActivePlan):
        services.book(member, session.pk)


def test_a_tampered_price_is_refused(active_member, session):
    with pytest.raises(PriceChanged):
        services.book(active_member, session.pk, expected_credits=1)
    assert not Reservation.objects.exists()


def test_unknown_past_cancelled_and_far_classes_are_refused(active_member, studio):
    with pytest.raises(SessionNotFound):
        services.book(active_member, 999_999)
    past = factories.ClassSessionFactory(
        studio=studio, starts_at=timezone.now() - timedelta(hours=1)
    )
    with pytest.raises(NotBookable, match="started"):
        services.book(active_member, past.pk)
    cancelled = factories.ClassSessionFactory(studio=studio, status="cancelled")
    with pytest.raises(NotBookable, match="cancelled"):
        services.book(active_member, cancelled.pk)
    far = factories.ClassSessionFactory(
        studio=studio, starts_at=timezone.now() + timedelta(days=10)
    )
    with pytest.raises(NotBookable, match="opens"):
        services.book(active_member, far.pk)
    soon = factories.ClassSessionFactory(
        studio=studio, starts_at=timezone.now() + timedelta(minutes=3)
    )
    with pytest.raises(NotBookable, match="closed"):
        services.book(active_member, soon.pk)
    assert not Reservation.objects.exists()


def test_booking_window_opens_at_noon_local_seven_days_ahead(active_member, studio):
    # A class at 09:00 New York time on day D opens at 12:00 New York time on D-7.
    start = timezone.now() + timedelta(days=9)
    session = factories.ClassSessionFactory(studio=studio, starts_at=start)
    opens = services.booking_opens_at(session)
    local = timezone.localtime(opens, studio.market.tzinfo)
    assert (local.hour, local.minute) == (12, 0)
    assert timezone.localtime(start, studio.market.tzinfo).date() - local.date() == timedelta(
        days=7
    )
    with pytest.raises(NotBookable):
        services.book(active_member, session.pk, now=opens - timedelta(seconds=1))
    assert services.book(active_member, session.pk, now=opens).pk


def test_free_cancel_returns_credits_and_frees_the_spot(
    active_member, session, django_capture_on_commit_callbacks
):
    reservation = services.book(active_member, session.pk)
    with django_capture_on_commit_callbacks(execute=True):
        services.cancel(reservation.pk, member=active_member)
    reservation.refresh_from_db()
    session.refresh_from_db()
    assert reservation.status == ReservationStatus.CANCELLED
    assert session.network_booked == 0
    assert balance_matches_ledger(active_member) and active_member.credit_balance == 30
    assert not Payment.objects.filter(kind=PaymentKind.LATE_CANCEL_FEE).exists()
    assert not EarningEntry.objects.exists()
    assert mail.outbox[-1].subject.startswith("Cancelled")


def test_late_cancel_returns_credits_and_charges_fee(
    active_member, studio, django_capture_on_commit_callbacks
):
    session = factories.ClassSessionFactory(
        studio=studio, starts_at=timezone.now() + timedelta(hours=3)
    )
    reservation = services.book(active_member, session.pk)
    with django_capture_on_commit_callbacks(execute=True):
        services.cancel(reservation.pk, member=active_member)
    reservation.refresh_from_db()
    assert reservation.status == ReservationStatus.LATE_CANCELLED
    assert balance_matches_ledger(active_member) and active_member.credit_balance == 30
    fee = Payment.objects.get(kind=PaymentKind.LATE_CANCEL_FEE)
    assert fee.amount_cents == studio.market.late_cancel_fee_cents
    earning = EarningEntry.objects.get()
    assert (earning.kind, earning.amount_cents) == (
        EarningKind.RESERVATION,
        studio.payout_rate_cents,
    )
    assert "Late cancellation" in mail.outbox[-1].subject


def test_credits_travel_to_another_market_at_its_prices_and_fees(
    active_member, django_capture_on_commit_callbacks
):
    """docs/decisions.md, Booking: a member books abroad with the same balance, at the class's
    own credit price; the studio is paid, and a late cancel is charged, in its currency."""
    london = factories.MarketFactory(
        timezone="Europe/London", currency="GBP", late_cancel_fee_cents=800
    )
    abroad = factories.StudioFactory(market=london, payout_rate_cents=1600)
    session = factories.ClassSessionFactory(
        studio=abroad, credit_price=9, starts_at=timezone.now() + timedelta(hours=3)
    )
    assert active_member.home_market != london
    reservation = services.book(active_member, session.pk)
    assert (reservation.credits_spent, reservation.currency) == (9, "GBP")
    assert reservation.studio_payout_cents == 1600
    assert active_member.credit_balance == 30 - 9 and balance_matches_ledger(active_member)
    with django_capture_on_commit_callbacks(execute=True):
        services.cancel(reservation.pk, member=active_member)
    assert active_member.credit_balance == 30 and balance_matches_ledger(active_member)
    fee = Payment.objects.get(kind=PaymentKind.LATE_CANCEL_FEE)
    assert (fee.amount_cents, fee.currency) == (800, "GBP")
    earning = EarningEntry.objects.get()
    assert (earning.studio, earning.amount_cents, earning.currency) == (abroad, 1600, "GBP")


def test_the_credit_history_names_each_class_with_its_day_and_time(active_member, studio):
    """Two bookings of the same class, one cancelled by the member and one by the studio: each
    ledger entry says which class, studio-local day and time, and what happened."""
    studio.market.timezone = "Europe/Berlin"
    studio.market.save()
    flow = factories.ClassTypeFactory(studio=studio, name="Morning Flow")
    when = [timezone.now() + timedelta(days=n) for n in (2, 3)]
    sessions = [
        factories.ClassSessionFactory(studio=studio, class_type=flow, starts_at=w) for w in when
    ]
    first, _ = (services.book(active_member, s.pk) for s in sessions)
    services.cancel(first.pk, member=active_member)
    services.cancel_session(sessions[1].pk)

    labels = [
        f"Morning Flow at {studio.name}, "
        f"{timezone.localtime(w, studio.market.tzinfo):%a %-d %b %H:%M}"
        for w in when
    ]
    notes = list(CreditEntry.objects.order_by("id").values_list("kind", "note"))[-4:]
    assert notes == [
        (CreditKind.BOOKING, labels[0]),
        (CreditKind.BOOKING, labels[1]),
        (CreditKind.REFUND, f"{labels[0]}: cancelled, credits returned."),
        (CreditKind.REFUND, f"{labels[1]}: cancelled by the studio, credits returned."),
    ]


def test_someone_elses_reservation_cannot_be_cancelled(active_member, session, market, plan):
    reservation = services.book(active_member, session.pk)
    other = factories.MemberFactory(home_market=market)
    with pytest.raises(SessionNotFound):
        services.cancel(reservation.pk, member=other)
    with pytest.raises(NotCancellable):
        services.cancel(reservation.pk)
        services.cancel(reservation.pk)


def test_missed_class_returns_credits_charges_fee_and_pays_the_studio(
    active_member, studio, django_capture_on_commit_callbacks
):
    start = timezone.now() + timedelta(hours=1)
    session = factories.ClassSessionFactory(studio=studio, starts_at=start)
    reservation = services.book(active_member, session.pk)
    with django_capture_on_commit_callbacks(execute=True):
        services.mark_missed(reservation.pk, now=start + timedelta(hours=2))
    # The member hears of it: the credits back, the fee charged, how to have it undone.
    missed = mail.outbox[-1]
    assert missed.subject.startswith("Marked as missed") and missed.to == [active_member.user.email]
    fee = f"${studio.market.missed_class_fee_cents / 100:.2f}"
    assert f"missed-class fee of {fee} was charged" in missed.body
    assert "undo the mark today" in missed.alternatives[0][0]
    reservation.refresh_from_db()
    assert reservation.status == ReservationStatus.MISSED
    assert balance_matches_ledger(active_member) and active_member.credit_balance == 30
    assert (
        Payment.objects.get(kind=PaymentKind.MISSED_CLASS_FEE).amount_cents
        == studio.market.missed_class_fee_cents
    )
    assert EarningEntry.objects.get().amount_cents == studio.payout_rate_cents


def test_studio_cancelling_a_class_refunds_everyone_and_emails_them(
    market, plan, studio, session, django_capture_on_commit_callbacks
):
    from members import services as members_services

    members = []
    for _ in range(3):
        m = factories.MemberFactory(home_market=market)
        members_services.choose_plan(m, plan)
        services.book(m, session.pk)
        members.append(m)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.cancel_session(session.pk) == 3
    assert services.cancel_session(session.pk) == 0
    session.refresh_from_db()
    assert session.status == "cancelled" and session.network_booked == 0
    for m in members:
        assert balance_matches_ledger(m) and m.credit_balance == 30
    cancelled = [e for e in mail.outbox if "cancelled" in e.subject]
    assert len(cancelled) == 3 and {e.to[0] for e in cancelled} == {m.user.email for m in members}
    assert not Payment.objects.filter(kind__in=[PaymentKind.LATE_CANCEL_FEE]).exists()


def test_a_studio_cannot_cancel_a_class_that_has_started(active_member, studio):
    start = timezone.now() + timedelta(hours=1)
    session = factories.ClassSessionFactory(studio=studio, starts_at=start)
    reservation = services.book(active_member, session.pk)
    services.mark_attended(reservation.pk, now=start + timedelta(minutes=5))
    with pytest.raises(NotCancellable, match="has started"):
        services.cancel_session(session.pk, now=start + timedelta(minutes=5))
    session.refresh_from_db()
    reservation.refresh_from_db()
    # It happened: the check-in, the spot and the studio's payout stand.
    assert (session.status, session.network_booked) == ("scheduled", 1)
    assert reservation.status == ReservationStatus.ATTENDED
    assert EarningEntry.objects.get().amount_cents == studio.payout_rate_cents


def test_cancelling_a_class_refunds_a_member_checked_in_early_and_takes_the_payout_back(
    active_member, studio, django_capture_on_commit_callbacks
):
    start = timezone.now() + timedelta(minutes=30)  # check-in opens an hour before
    session = factories.ClassSessionFactory(studio=studio, starts_at=start)
    reservation = services.book(active_member, session.pk)
    services.mark_attended(reservation.pk)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.cancel_session(session.pk) == 1
    reservation.refresh_from_db()
    session.refresh_from_db()
    active_member.refresh_from_db()
    assert reservation.status == ReservationStatus.CANCELLED
    assert (session.network_booked, session.premium_booked) == (0, 0)
    assert balance_matches_ledger(active_member) and active_member.credit_balance == 30
    payouts = EarningEntry.objects.filter(session=session).order_by("pk")
    assert [e.amount_cents for e in payouts] == [
        studio.payout_rate_cents,
        -studio.payout_rate_cents,
    ]
    assert [e.subject for e in mail.outbox][-1].startswith(f"{studio.name} cancelled")


def test_cancelling_a_class_gives_a_late_canceller_the_fee_back_and_takes_the_payout_back(
    active_member, studio, django_capture_on_commit_callbacks
):
    session = factories.ClassSessionFactory(
        studio=studio, starts_at=timezone.now() + timedelta(hours=3)
    )
    reservation = services.book(active_member, session.pk)
    services.cancel(reservation.pk, member=active_member)  # inside the 12-hour window: late
    fee = Payment.objects.get(kind=PaymentKind.LATE_CANCEL_FEE)
    assert fee.status == "succeeded" and EarningEntry.objects.count() == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert services.cancel_session(session.pk) == 1
        assert services.cancel_session(session.pk) == 0  # twice: nothing more
    reservation.refresh_from_db()
    active_member.refresh_from_db()
    assert reservation.status == ReservationStatus.LATE_CANCELLED  # what the member did stays
    refund = Payment.objects.get(refund_of=fee)
    assert refund.amount_cents == -fee.amount_cents and refund.status == "succeeded"
    assert EarningEntry.objects.filter(session=session).aggregate(t=Sum("amount_cents"))["t"] == 0
    # The credits came back at the late cancel, and only then.
    assert balance_matches_ledger(active_member) and active_member.credit_balance == 30
    body = mail.outbox[-1].body
    assert mail.outbox[-1].subject.startswith(f"{studio.name} cancelled")
    assert "late-cancel fee of $10.00 you paid is refunded" in body


def test_a_fee_answered_late_is_given_back_if_the_class_was_cancelled_meanwhile(
    active_member, studio, settings, django_capture_on_commit_callbacks
):
    session = factories.ClassSessionFactory(
        studio=studio, starts_at=timezone.now() + timedelta(hours=3)
    )
    reservation = services.book(active_member, session.pk)
    settings.PAYMENT_PROVIDER = payments.LOST_ANSWERS  # charges are made, answers lost
    services.cancel(reservation.pk, member=active_member)  # late: the fee is left pending
    fee = Payment.objects.get(kind=PaymentKind.LATE_CANCEL_FEE)
    assert fee.status == "pending"
    settings.PAYMENT_PROVIDER = "members.payments.LocalPaymentProvider"
    services.cancel_session(session.pk)  # the fee is not known to be charged: nothing to refund
    assert not Payment.objects.filter(refund_of=fee).exists()
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        members_services.settle_pending_payments()  # the provider says it was charged after all
        members_services.settle_pending_payments()  # and a second run changes nothing
    fee.refresh_from_db()
    refund = Payment.objects.get(refund_of=fee)
    assert fee.status == "succeeded" and refund.amount_cents == -fee.amount_cents
    assert refund.reference == f"fee-refund:reservation:{reservation.pk}"
    # The member hears of it once, with why the fee is not due.
    [message] = [m for m in mail.outbox if m.subject.startswith("Your fee for")]
    assert f"went through only after {studio.name} cancelled this class" in message.body
    assert "late-cancel fee of $10.00 you paid is refunded" in message.body
    html = message.alternatives[0].content
    assert "Your fee is given back" in html and "$10.00 you paid is refunded" in html


def test_a_fee_answered_late_stays_while_due_and_is_given_back_once_the_mark_is_undone(
    active_member, studio, settings, django_capture_on_commit_callbacks
):
    # Noon tomorrow, studio-local: marks made and undone 5 minutes after the start stay within
    # the class's day (undo_mark's limit) whatever the hour the test runs at.
    tz = studio.market.tzinfo
    tomorrow = timezone.localdate(timezone.now(), tz) + timedelta(days=1)
    start = datetime.combine(tomorrow, time(12), tzinfo=tz)
    session = factories.ClassSessionFactory(studio=studio, starts_at=start)
    reservation = services.book(active_member, session.pk)
    after = start + timedelta(minutes=5)
    settings.PAYMENT_PROVIDER = payments.LOST_ANSWERS
    services.mark_missed(reservation.pk, now=after)
    settings.PAYMENT_PROVIDER = "members.payments.LocalPaymentProvider"
    members_services.settle_pending_payments()  # still a no-show: the fee is due, and kept
    fee = Payment.objects.get(kind=PaymentKind.MISSED_CLASS_FEE)
    assert fee.status == "succeeded" and not fee.refunds.exists()
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.undo_mark(reservation.pk, now=after)  # the fee was charged: the undo refunds it
    assert fee.refunds.get().amount_cents == -fee.amount_cents
    [message] = [m for m in mail.outbox if m.subject.startswith("No-show mark taken back")]
    spent = reservation.credits_spent
    assert f"the {spent} credits given back for the no-show are taken again" in message.body
    assert "missed-class fee of $15.00 you paid is refunded" in message.body
    html = message.alternatives[0].content
    assert "No-show mark taken back" in html and "$15.00 you paid is refunded" in html

    # The other order: the undo comes first, while the fee is still unanswered.
    settings.PAYMENT_PROVIDER = payments.LOST_ANSWERS
    services.mark_missed(reservation.pk, now=after)
    fee = Payment.objects.get(kind=PaymentKind.MISSED_CLASS_FEE, reference__endswith=":v1")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.undo_mark(reservation.pk, now=after)
    assert fee.status == "pending" and not fee.refunds.exists()
    [message] = [m for m in mail.outbox if m.subject.startswith("No-show mark taken back")]
    assert "was still being charged: if it goes through, it is given back" in message.body
    settings.PAYMENT_PROVIDER = "members.payments.LocalPaymentProvider"
    with django_capture_on_commit_callbacks(execute=True):
        members_services.settle_pending_payments()
    assert fee.refunds.get().reference == f"fee-refund:reservation:{reservation.pk}:v1"
    [message] = [m for m in mail.outbox if m.subject.startswith("Your fee for")]  # once
    assert f"only after {studio.name} took back your no-show mark" in message.body
    active_member.refresh_from_db()
    assert balance_matches_ledger(active_member)


def test_attendance_default_marks_attended_after_48h_and_pays_once(active_member, studio):
    start = timezone.now() + timedelta(hours=1)
    session = factories.ClassSessionFactory(studio=studio, starts_at=start, duration_minutes=60)
    reservation = services.book(active_member, session.pk)
    assert services.mark_unmarked_attended(now=start + timedelta(hours=48)) == 0  # ends at +1h
    later = start + timedelta(hours=49, minutes=1)
    assert services.mark_unmarked_attended(now=later) == 1
    assert services.mark_unmarked_attended(now=later) == 0
    reservation.refresh_from_db()
    assert reservation.status == ReservationStatus.ATTENDED
    assert EarningEntry.objects.filter(reference=f"reservation:{reservation.pk}").count() == 1


def test_waitlist_promotes_the_first_eligible_member_on_cancel(
    market, plan, studio, django_capture_on_commit_callbacks
):
    from members import services as members_services

    session = factories.ClassSessionFactory(studio=studio, network_spots=1)
    holder, broke, patient = (factories.MemberFactory(home_market=market) for _ in range(3))
    for m in (holder, broke, patient):
        members_services.choose_plan(m, plan)
    held = services.book(holder, session.pk)
    first = services.join_waitlist(broke, session.pk)
    second = services.join_waitlist(patient, session.pk)
    assert services.waitlist_position(first) == 1 and services.waitlist_position(second) == 2
    members_services.adjust_credits(broke, amount=-29, note="spent elsewhere")  # 1 credit left
    with django_capture_on_commit_callbacks(execute=True):
        services.cancel(held.pk)
    promoted = Reservation.objects.get(member=patient)
    assert promoted.source == Source.WAITLIST and promoted.status == ReservationStatus.BOOKED
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == "waiting" and second.status == "promoted"
    assert any("spot opened up" in e.subject for e in mail.outbox)
    session.refresh_from_db()
    assert session.network_booked == 1


def test_no_promotion_inside_the_cutoff(market, plan, studio):
    from members import services as members_services

    session = factories.ClassSessionFactory(
        studio=studio, network_spots=1, starts_at=timezone.now() + timedelta(hours=1, minutes=30)
    )
    a, b = factories.MemberFactory(home_market=market), factories.MemberFactory(home_market=market)
    for m in (a, b):
        members_services.choose_plan(m, plan)
    held = services.book(a, session.pk)
    services.join_waitlist(b, session.pk)
    services.cancel(held.pk)
    assert not Reservation.objects.filter(member=b).exists()


def test_waitlist_only_when_sold_out(active_member, session):
    from bookings.errors import WaitlistError

    with pytest.raises(WaitlistError, match="book it instead"):
        services.join_waitlist(active_member, session.pk)


def test_only_a_member_whom_nothing_but_a_free_spot_stops_may_wait(client, market, plan, studio):
    """A member who has used the studio's monthly visits, or lacks the credits, would be
    passed over by every promotion: they are told why, on the class page and by the API, and
    not put on the waitlist, where they would also count as demand for more spots."""
    from bookings.errors import WaitlistError

    session = factories.ClassSessionFactory(
        studio=studio, network_spots=1, capacity=10, credit_price=6
    )
    holder, at_limit, short, able = (factories.MemberFactory(home_market=market) for _ in range(4))
    for m in (holder, at_limit, short, able):
        members_services.choose_plan(m, plan)
    services.book(holder, session.pk)
    for _ in range(studio.monthly_visit_limit):
        services.book(at_limit, factories.ClassSessionFactory(studio=studio).pk)
    members_services.adjust_credits(short, amount=-(short.credit_balance - 5), note="spent")
    limit = f"You've reached your {studio.monthly_visit_limit} visits at this studio this cycle."
    expected = {at_limit: limit, short: "This class costs 6 credits; you have 5."}
    for member, reason in expected.items():
        client.force_login(member.user)
        page = client.get(reverse("bookings:class", args=[session.pk])).content.decode()
        assert escape(reason) in page and "Join the waitlist" not in page
        assert "sold out" not in page
        with pytest.raises(WaitlistError, match=re.escape(reason)):
            services.join_waitlist(member, session.pk)
        assert client.get(f"/api/v1/sessions/{session.pk}/").json()["can_join_waitlist"] is False
        response = client.post(f"/api/v1/sessions/{session.pk}/waitlist/")
        assert response.status_code == 409 and response.json()["error"]["message"] == reason
    assert not WaitlistEntry.objects.filter(session=session).exists()
    client.force_login(able.user)
    page = client.get(reverse("bookings:class", args=[session.pk])).content.decode()
    assert "Join the waitlist</button>" in page
    assert client.get(f"/api/v1/sessions/{session.pk}/").json()["can_join_waitlist"] is True
    entry = services.join_waitlist(able, session.pk)
    assert services.waitlist_position(entry) == 1
    # Once waiting, the page shows the place and the API no longer offers to join.
    assert client.get(f"/api/v1/sessions/{session.pk}/").json()["can_join_waitlist"] is False


def test_generated_sessions_are_bookable(active_member, studio):
    factories.ScheduleFactory(
        studio=studio, weekdays=list(range(7)), starts_on=timezone.localdate()
    )
    from studios.services import generate_sessions

    generate_sessions(weeks=1)
    session = ClassSession.objects.filter(starts_at__gt=timezone.now() + timedelta(hours=2)).first()
    assert services.book(active_member, session.pk).pk


def test_releasing_an_unpaid_hold_frees_the_spot_and_charges_nothing(member, studio):
    from premium.models import PremiumSettings

    PremiumSettings.objects.create(studio=studio, price_cents=3000, max_spots=2)
    session = factories.ClassSessionFactory(studio=studio)
    held = services.book(member, session.pk, offer_kind="a_la_carte")
    session.refresh_from_db()
    assert (held.status, session.premium_booked) == (ReservationStatus.HELD, 1)
    released = services.cancel(held.pk, member=member)
    session.refresh_from_db()
    assert (released.status, session.premium_booked) == (ReservationStatus.CANCELLED, 0)
    assert not Payment.objects.exists() and not EarningEntry.objects.exists()
    with pytest.raises(NotCancellable):
        services.cancel(held.pk, member=member)


def test_a_declined_late_cancel_fee_keeps_the_cancellation_and_records_the_failure(
    active_member, studio, django_capture_on_commit_callbacks
):
    session = factories.ClassSessionFactory(
        studio=studio, starts_at=timezone.now() + timedelta(hours=3)
    )
    reservation = services.book(active_member, session.pk)
    user = active_member.user
    user.email = "card+decline@example.com"  # the local provider declines this address
    user.save(update_fields=["email"])
    with django_capture_on_commit_callbacks(execute=True):
        cancelled = services.cancel(reservation.pk, member=active_member)
    assert cancelled.status == ReservationStatus.LATE_CANCELLED
    # The e-mail says the fee was not charged, instead of that it was.
    assert "could not be charged" in mail.outbox[-1].body
    assert "was charged" not in mail.outbox[-1].body
    assert balance_matches_ledger(active_member) and active_member.credit_balance == 30
    fee = Payment.objects.get(kind=PaymentKind.LATE_CANCEL_FEE)
    assert fee.status == "failed" and "declined" in fee.failure_reason
    session.refresh_from_db()
    assert session.network_booked == 0


def test_a_late_cancel_fee_the_provider_does_not_answer_keeps_the_cancellation(
    active_member, studio, settings, django_capture_on_commit_callbacks
):
    session = factories.ClassSessionFactory(
        studio=studio, starts_at=timezone.now() + timedelta(hours=3)
    )
    reservation = services.book(active_member, session.pk)
    settings.PAYMENT_PROVIDER = payments.UNREACHABLE
    with django_capture_on_commit_callbacks(execute=True):
        cancelled = services.cancel(reservation.pk, member=active_member)
    assert cancelled.status == ReservationStatus.LATE_CANCELLED
    assert active_member.credit_balance == 30 and balance_matches_ledger(active_member)
    fee = Payment.objects.get(kind=PaymentKind.LATE_CANCEL_FEE)
    assert (fee.status, fee.failure_reason) == ("pending", "The payment service did not answer.")
    assert "late-cancel fee of $10.00 is being charged" in mail.outbox[-1].body
    # The sweep asks again with the same reference once the service answers.
    settings.PAYMENT_PROVIDER = "members.payments.LocalPaymentProvider"
    sent = len(mail.outbox)
    with django_capture_on_commit_callbacks(execute=True):
        assert members_services.settle_pending_payments()["succeeded"] == 1
    fee.refresh_from_db()
    assert (fee.status, fee.failure_reason) == ("succeeded", "")
    assert fee.provider_reference.startswith("local_ch_") and len(mail.outbox) == sent


def test_attendance_marks_are_refused_out_of_order(active_member, studio):
    start = timezone.now() + timedelta(hours=2)
    session = factories.ClassSessionFactory(studio=studio, starts_at=start)
    reservation = services.book(active_member, session.pk)
    with pytest.raises(NotCancellable, match="Check-in opens an hour before"):
        services.mark_attended(reservation.pk, now=start - timedelta(hours=2))
    with pytest.raises(NotCancellable, match="once the class has started"):
        services.mark_missed(reservation.pk, now=start - timedelta(minutes=30))
    services.mark_attended(reservation.pk, now=start - timedelta(minutes=30))
    with pytest.raises(NotCancellable, match="already attended"):
        services.mark_missed(reservation.pk, now=start + timedelta(minutes=5))
    assert EarningEntry.objects.count() == 1  # the studio is paid once
