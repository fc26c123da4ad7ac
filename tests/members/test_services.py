from datetime import UTC, datetime, timedelta

import pytest
from django.db.models import Sum
from django.urls import reverse

from members import services
from members.errors import (
    EmailTaken,
    InvalidPlanState,
    NotEnoughCredits,
    PaymentFailed,
    PaymentUnavailable,
    PlanNotAvailable,
)
from members.models import (
    CreditEntry,
    CreditKind,
    Member,
    Payment,
    PaymentKind,
    PaymentStatus,
    SubscriptionStatus,
)
from tests import factories, payments


def ledger_sum(member: Member) -> int:
    return CreditEntry.objects.filter(member=member).aggregate(s=Sum("amount"))["s"] or 0


def test_add_months_clamps_to_the_end_of_the_month():
    assert services.add_months(datetime(2026, 1, 31, 9, tzinfo=UTC), 1) == datetime(
        2026, 2, 28, 9, tzinfo=UTC
    )
    assert services.add_months(datetime(2026, 11, 30, tzinfo=UTC), 3) == datetime(
        2027, 2, 28, tzinfo=UTC
    )
    assert services.add_months(datetime(2026, 12, 15, tzinfo=UTC), 1) == datetime(
        2027, 1, 15, tzinfo=UTC
    )


@pytest.mark.django_db
def test_sign_up_twice_with_one_email_is_refused(market):
    services.sign_up(email="Ann@Example.com", password="a-long-password", market=market)
    with pytest.raises(EmailTaken):
        services.sign_up(email="ann@example.COM", password="another-password", market=market)
    assert Member.objects.count() == 1


@pytest.mark.django_db
def test_choose_plan_charges_and_grants_the_first_cycle(member, plan, now):
    services.choose_plan(member, plan, now=now)
    member.refresh_from_db()
    assert member.status == SubscriptionStatus.ACTIVE
    assert member.credit_balance == 30
    assert member.next_renewal_at == datetime(2026, 12, 26, 15, tzinfo=UTC)
    payment = Payment.objects.get(member=member)
    assert (payment.kind, payment.amount_cents, payment.status) == (
        PaymentKind.PLAN,
        plan.price_cents,
        PaymentStatus.SUCCEEDED,
    )


@pytest.mark.django_db
def test_a_cycle_grant_names_the_day_the_cycle_began_in_the_members_city(member, plan):
    # 04:25 UTC on 8 November is still the evening of 7 November in New York.
    services.choose_plan(member, plan, now=datetime(2026, 11, 8, 4, 25, tzinfo=UTC))
    grant = CreditEntry.objects.get(member=member, kind=CreditKind.GRANT)
    assert grant.note == f"{plan.name}: cycle from Sat 7 Nov 2026."


@pytest.mark.django_db
def test_a_plan_of_another_market_is_refused(member, now):
    other = factories.PlanFactory()
    with pytest.raises(PlanNotAvailable):
        services.choose_plan(member, other, now=now)
    member.refresh_from_db()
    assert member.status == SubscriptionStatus.NONE
    assert not Payment.objects.exists() and not CreditEntry.objects.exists()


@pytest.mark.django_db
def test_a_declined_card_starts_no_plan(market, plan, now):
    member = factories.MemberFactory(home_market=market, declines=True)
    with pytest.raises(PaymentFailed):
        services.choose_plan(member, plan, now=now)
    member.refresh_from_db()
    assert member.status == SubscriptionStatus.NONE and member.credit_balance == 0


@pytest.mark.django_db
def test_renewal_rolls_over_up_to_the_next_plans_credits_and_expires_the_rest(
    member, plan, now, market
):
    services.choose_plan(member, plan, now=now)  # 30 credits
    services.adjust_credits(member, amount=12, note="Bonus")  # 42 unused
    smaller = factories.PlanFactory(market=market, credits_per_cycle=20)
    services.change_plan(member, smaller)
    assert services.renew_due_cycles(now=now + timedelta(days=31)) == 1
    member.refresh_from_db()
    expiry = CreditEntry.objects.get(member=member, kind=CreditKind.EXPIRY)
    assert expiry.amount == -22  # 42 unused, 20 may roll over
    assert member.credit_balance == 20 + 20
    assert member.plan == smaller and member.next_plan is None
    assert member.credit_balance == ledger_sum(member)


@pytest.mark.django_db
def test_rollover_cap_is_at_least_ten(member, market, now):
    tiny = factories.PlanFactory(market=market, credits_per_cycle=5)
    services.choose_plan(member, tiny, now=now)
    services.adjust_credits(member, amount=10, note="Bonus")  # 15 unused
    services.renew_due_cycles(now=now + timedelta(days=31))
    member.refresh_from_db()
    assert member.credit_balance == 10 + 5


@pytest.mark.django_db
def test_renewal_is_idempotent_and_catches_up_missed_cycles(member, plan, now):
    services.choose_plan(member, plan, now=now)
    later = now + timedelta(days=70)  # two renewals are due
    assert services.renew_due_cycles(now=later) == 2
    assert services.renew_due_cycles(now=later) == 0
    member.refresh_from_db()
    assert member.cycle_number == 2
    assert member.next_renewal_at == datetime(2027, 2, 26, 15, tzinfo=UTC)
    assert Payment.objects.filter(member=member, kind=PaymentKind.PLAN).count() == 3
    assert CreditEntry.objects.filter(member=member, kind=CreditKind.GRANT).count() == 3


@pytest.mark.django_db
def test_a_declined_renewal_pauses_the_plan_and_keeps_the_credits(market, plan, now):
    member = factories.MemberFactory(home_market=market)
    services.choose_plan(member, plan, now=now)
    member.user.email = "pat+decline@example.com"
    member.user.save()
    assert services.renew_due_cycles(now=now + timedelta(days=31)) == 0
    member.refresh_from_db()
    assert member.status == SubscriptionStatus.PAUSED
    assert member.credit_balance == 30
    assert Payment.objects.filter(status=PaymentStatus.FAILED).count() == 1


@pytest.mark.django_db
def test_pause_stops_renewals_and_resume_starts_a_new_cycle(member, plan, now):
    services.choose_plan(member, plan, now=now)
    services.pause(member)
    assert services.renew_due_cycles(now=now + timedelta(days=40)) == 0
    services.resume(member, now=now + timedelta(days=40))
    member.refresh_from_db()
    assert member.status == SubscriptionStatus.ACTIVE
    assert member.credit_balance == 30 + 30
    assert member.next_renewal_at == services.add_months(now + timedelta(days=40), 1)


@pytest.mark.django_db
def test_cancel_forfeits_unused_credits(member, plan, now):
    services.choose_plan(member, plan, now=now)
    services.cancel_plan(member, now=now + timedelta(days=3))
    member.refresh_from_db()
    assert member.status == SubscriptionStatus.CANCELLED
    assert member.credit_balance == 0
    assert CreditEntry.objects.get(member=member, kind=CreditKind.FORFEIT).amount == -30
    with pytest.raises(InvalidPlanState):
        services.cancel_plan(member)


@pytest.mark.django_db
def test_a_negative_adjustment_past_the_balance_is_refused(member, plan, now):
    services.choose_plan(member, plan, now=now)
    with pytest.raises(NotEnoughCredits):
        services.adjust_credits(member, amount=-31, note="Chargeback")
    member.refresh_from_db()
    assert member.credit_balance == 30
    assert CreditEntry.objects.filter(kind=CreditKind.ADJUSTMENT).count() == 0
    services.adjust_credits(member, amount=-30, note="Chargeback")
    member.refresh_from_db()
    assert member.credit_balance == 0 == ledger_sum(member)


@pytest.mark.django_db
def test_choosing_a_plan_twice_is_refused(member, plan, now):
    services.choose_plan(member, plan, now=now)
    with pytest.raises(InvalidPlanState):
        services.choose_plan(member, plan, now=now)
    assert Payment.objects.count() == 1


@pytest.mark.django_db
def test_charge_is_once_per_reference(member):
    first = services.charge(
        member,
        kind=PaymentKind.A_LA_CARTE,
        amount_cents=2500,
        currency="USD",
        reference="x:1",
        description="Class",
    )
    again = services.charge(
        member,
        kind=PaymentKind.A_LA_CARTE,
        amount_cents=2500,
        currency="USD",
        reference="x:1",
        description="Class",
    )
    assert first.pk == again.pk
    refund = services.refund(first, reference="x:1:refund")
    assert refund.amount_cents == -2500 and refund.kind == PaymentKind.REFUND
    assert services.refund(first, reference="x:1:refund").pk == refund.pk


@pytest.mark.django_db
def test_resubscribing_at_the_same_instant_charges_and_grants_again(member, plan, now):
    # Found by the ledger property test: references must not be derived from timestamps.
    services.choose_plan(member, plan, now=now)
    services.cancel_plan(member, now=now)
    services.adjust_credits(member, amount=1, note="goodwill")
    services.choose_plan(member, plan, now=now)
    member.refresh_from_db()
    assert member.credit_balance == 1 + plan.credits_per_cycle == ledger_sum(member)
    assert Payment.objects.filter(member=member, kind=PaymentKind.PLAN).count() == 2


def a_la_carte_payment(member, reference="class:1", amount_cents=2500):
    return payments.a_la_carte(member, reference=reference, cents=amount_cents)


@pytest.mark.django_db
def test_a_payment_is_never_refunded_beyond_what_was_paid(member):
    """Support gives part back; a later full refund (a cancellation, say) gives the rest."""
    paid = a_la_carte_payment(member)
    by_support = services.refund_by_support(
        paid.pk, amount_cents=1000, reason="Late start", refunded_before_cents=0
    )
    assert (by_support.amount_cents, by_support.refund_of) == (-1000, paid)
    assert by_support.description == "Refund: Late start"
    rest = services.refund(paid, reference="refund:reservation:1")
    assert rest.amount_cents == -1500
    assert services.refund(paid, reference="refund:again") is None  # nothing left
    assert services.refunded_cents(paid) == 2500


@pytest.mark.django_db
def test_support_refunds_refuse_what_they_cannot_do(member):
    from members.errors import InvalidPlanState

    paid = a_la_carte_payment(member)
    refuse = [
        dict(amount_cents=2600, reason="Too much", refunded_before_cents=0),
        dict(amount_cents=100, reason="  ", refunded_before_cents=0),
        dict(amount_cents=100, reason="Stale page", refunded_before_cents=500),
    ]
    for kwargs in refuse:
        with pytest.raises(InvalidPlanState):
            services.refund_by_support(paid.pk, **kwargs)
    refund = services.refund_by_support(
        paid.pk, amount_cents=100, reason="Ok", refunded_before_cents=0
    )
    with pytest.raises(InvalidPlanState):  # a refund is not refunded
        services.refund_by_support(
            refund.pk, amount_cents=100, reason="No", refunded_before_cents=0
        )
    # The same page submitted twice: the second sees that the first went through.
    with pytest.raises(InvalidPlanState, match="meanwhile"):
        services.refund_by_support(paid.pk, amount_cents=100, reason="Ok", refunded_before_cents=0)
    assert services.refunded_cents(paid) == 100


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_support_refunds_of_one_payment_at_once_give_back_one(member):
    from members.errors import InvalidPlanState
    from tests.race import run_in_threads

    paid = a_la_carte_payment(member)

    def refund(_):
        return services.refund_by_support(
            paid.pk, amount_cents=2500, reason="Double click", refunded_before_cents=0
        )

    results = run_in_threads(2, refund)
    assert sum(isinstance(r, InvalidPlanState) for r in results) == 1, results
    assert services.refunded_cents(paid) == 2500


def requested_link(member, new_email: str) -> str:
    """Ask for a new address as the details page does; the token the e-mail's link carries."""
    from studios.models import OutboxMessage

    assert services.change_details(member.user, first_name="", last_name="", email=new_email)
    message = OutboxMessage.objects.filter(handler="members.emails.send_email_confirmation").last()
    return message.args[2]


@pytest.mark.django_db
def test_a_new_address_waits_for_its_link_and_the_name_does_not(member):
    old = member.user.email
    token = requested_link(member, "New@Example.com")
    member.user.refresh_from_db()
    assert member.user.email == member.user.username == old
    assert services.email_change_of(token) == (member.user, "new@example.com")
    services.confirm_email_change(token)
    member.user.refresh_from_db()
    assert member.user.email == member.user.username == "new@example.com"
    assert services.confirm_email_change(token) == member.user  # followed twice: nothing more
    # A name alone sends nothing and changes at once.
    assert (
        services.change_details(
            member.user, first_name=" Ada ", last_name="", email="NEW@example.com"
        )
        is None
    )
    member.user.refresh_from_db()
    assert member.user.first_name == "Ada"


@pytest.mark.django_db
def test_a_link_that_is_altered_old_or_stale_changes_nothing(member, monkeypatch):
    import time

    from members.errors import InvalidLink

    old = member.user.email
    token = requested_link(member, "new@example.com")
    for bad in (token[:-2] + "xx", "", token + "a"):
        with pytest.raises(InvalidLink, match="not valid"):
            services.confirm_email_change(bad)
    # Asked for four days ago: past EMAIL_CHANGE_TIMEOUT.
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now - 4 * 24 * 3600)
    expired = requested_link(member, "late@example.com")
    monkeypatch.undo()
    with pytest.raises(InvalidLink, match="expired"):
        services.confirm_email_change(expired)
    # A password reset by the rightful owner ends the links asked for before it.
    member.user.set_password("a-new-long-password")
    member.user.save()
    with pytest.raises(InvalidLink, match="password last changed"):
        services.email_change_of(token)
    # So does another address confirmed meanwhile.
    first, second = (
        requested_link(member, "one@example.com"),
        requested_link(member, "two@example.com"),
    )
    services.confirm_email_change(second)
    with pytest.raises(InvalidLink, match="address or password last changed"):
        services.confirm_email_change(first)
    member.user.refresh_from_db()
    assert member.user.email == "two@example.com" != old


@pytest.mark.django_db
def test_an_address_taken_before_the_link_is_followed_is_refused(member):
    from members.errors import InvalidLink

    old = member.user.email
    token = requested_link(member, "wanted@example.com")
    factories.UserFactory(email="Wanted@Example.com", username="wanted@example.com")
    with pytest.raises(EmailTaken, match="now uses"):
        services.confirm_email_change(token)
    member.user.refresh_from_db()
    assert member.user.email == old
    # A deleted account's links die with it.
    other = factories.MemberFactory(home_market=member.home_market)
    token = requested_link(other, "gone@example.com")
    services.delete_account(other)
    with pytest.raises(InvalidLink, match="not valid"):
        services.email_change_of(token)


@pytest.mark.django_db
def test_a_renewal_the_provider_does_not_answer_is_kept_for_the_next_run_and_the_others_renew(
    market, plan, now, settings, caplog
):
    members = [factories.MemberFactory(home_market=market) for _ in range(3)]
    first, stuck, last = members
    stuck.user.email = "stuck+down@example.com"
    stuck.user.save()
    for i, one in enumerate((stuck, first, last)):  # the stuck one is due first
        services.choose_plan(one, plan, now=now + timedelta(minutes=i))
    settings.PAYMENT_PROVIDER = payments.UNREACHABLE_FOR
    assert services.renew_due_cycles(now=now + timedelta(days=31)) == 2
    for one in members:
        one.refresh_from_db()
    assert first.cycle_number == last.cycle_number == 1
    assert stuck.cycle_number == 0 and stuck.status == SubscriptionStatus.ACTIVE  # still due
    # The try is kept: the provider may have charged it, so it is asked about, not forgotten.
    tried = Payment.objects.get(member=stuck, reference__endswith=":1")
    assert tried.status == "pending"
    assert f"Renewal of member {stuck.pk} is not answered yet" in caplog.text
    settings.PAYMENT_PROVIDER = "members.payments.LocalPaymentProvider"  # back in reach
    assert services.renew_due_cycles(now=now + timedelta(days=31)) == 1
    stuck.refresh_from_db()
    tried.refresh_from_db()
    assert stuck.cycle_number == 1 and tried.status == "succeeded"
    assert Payment.objects.filter(member=stuck).count() == 2  # the same renewal charge


@pytest.mark.django_db
def test_a_plan_bought_while_the_provider_does_not_answer_starts_nothing_until_it_does(
    client, member, plan, settings
):
    settings.PAYMENT_PROVIDER = payments.UNREACHABLE
    with pytest.raises(PaymentUnavailable, match="Your plan has not started yet"):
        services.choose_plan(member, plan)
    client.force_login(member.user)
    page = client.post(reverse("members:plan"), {"plan": plan.pk}).content.decode()
    assert "did not answer. Your plan has not started yet: please try again in a moment." in page
    assert "You will not be charged twice." in page
    member.refresh_from_db()
    assert member.status == SubscriptionStatus.NONE and member.credit_balance == 0
    assert not CreditEntry.objects.exists()
    (pending,) = Payment.objects.all()  # one try on record, whatever the number of clicks
    assert pending.status == PaymentStatus.PENDING
    settings.PAYMENT_PROVIDER = "members.payments.LocalPaymentProvider"  # back: it goes through
    assert client.post(reverse("members:plan"), {"plan": plan.pk}).status_code == 302
    member.refresh_from_db()
    assert member.status == SubscriptionStatus.ACTIVE and member.credit_balance == 30
    pending.refresh_from_db()
    assert pending.status == PaymentStatus.SUCCEEDED and Payment.objects.count() == 1
    assert member.subscription_key in pending.reference
