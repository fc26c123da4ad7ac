"""Refunds and fees the payment service did not answer: pending, asked again, then settled."""

from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse

from members import services
from members.errors import InvalidPlanState, PaymentUnavailable
from members.models import Payment, PaymentKind, PaymentStatus, SubscriptionStatus
from studios.models import OutboxMessage
from tests import factories, payments
from tests.race import run_in_threads

SETTLED = "members.emails.send_refund_settled"


def paid(member, reference="alc:1", cents=3000) -> Payment:
    return payments.a_la_carte(member, reference=reference, cents=cents)


def test_a_refund_whose_answer_was_lost_is_asked_again_and_made_once(
    member, client, settings, django_capture_on_commit_callbacks
):
    payment = paid(member)
    settings.PAYMENT_PROVIDER = payments.LOST_ANSWERS
    refund = services.refund(payment, reference="refund:1", description="Flow: cancelled")
    assert (refund.status, refund.provider_reference) == (PaymentStatus.PENDING, "")
    assert services.refunded_cents(payment) == 3000  # counted: it may have gone through
    assert services.refund(payment, amount_cents=100, reference="refund:2") is None
    client.force_login(member.user)
    page = client.get(reverse("members:payments")).content.decode()
    assert "The payment service has not answered yet; we keep asking." in page

    with django_capture_on_commit_callbacks(execute=True):
        counts = services.settle_pending_payments()

    assert counts == {"succeeded": 1, "failed": 0, "pending": 0}
    refund.refresh_from_db()
    made = payments.LostAnswers.made["refund:1"]
    assert (refund.status, refund.provider_reference) == ("succeeded", made.provider_reference)
    assert payments.LostAnswers.calls == {"refund:1": 2}  # asked twice, made once
    (message,) = mail.outbox
    assert message.subject == "Your classpass refund has gone through"
    assert message.to == [member.user.email]
    assert "Your refund of $30.00 (Flow: cancelled) has gone through" in message.body
    # Settled refunds are not asked about again.
    assert services.settle_pending_payments() == {"succeeded": 0, "failed": 0, "pending": 0}


def test_a_refund_not_answered_for_a_day_is_left_to_support_and_the_member_told(
    member, settings, django_capture_on_commit_callbacks
):
    payment = paid(member)
    settings.PAYMENT_PROVIDER = payments.UNREACHABLE
    refund = services.refund(payment, amount_cents=1000, reference="refund:1")
    asked_at = refund.created_at

    with django_capture_on_commit_callbacks(execute=True):
        early = services.settle_pending_payments(now=asked_at + timedelta(hours=23))
    refund.refresh_from_db()
    assert early["pending"] == 1 and refund.status == PaymentStatus.PENDING
    assert not mail.outbox

    with django_capture_on_commit_callbacks(execute=True):
        late = services.settle_pending_payments(now=asked_at + timedelta(hours=24, minutes=5))
    refund.refresh_from_db()
    assert late["failed"] == 1
    assert (refund.status, refund.failure_reason) == ("failed", services.GAVE_UP)
    assert services.refunded_cents(payment) == 0  # support can give all of it back now
    (message,) = mail.outbox
    assert message.subject == "Your classpass refund: our support team will make it"
    assert "We could not give back $10.00" in message.body
    assert services.GAVE_UP in message.body


def test_a_refund_refused_when_asked_again_is_failed_with_the_reason(
    member, settings, django_capture_on_commit_callbacks
):
    payment = paid(member)
    settings.PAYMENT_PROVIDER = payments.UNREACHABLE
    refund = services.refund(payment, reference="refund:1")
    settings.PAYMENT_PROVIDER = payments.REFUSING

    with django_capture_on_commit_callbacks(execute=True):
        assert services.settle_pending_payments()["failed"] == 1

    refund.refresh_from_db()
    assert (refund.status, refund.failure_reason) == ("failed", "The card account is closed.")
    assert "The card account is closed." in mail.outbox[0].body


def test_a_member_who_left_is_not_mailed_about_a_settled_refund(
    member, settings, django_capture_on_commit_callbacks
):
    payment = paid(member)
    settings.PAYMENT_PROVIDER = payments.UNREACHABLE
    refund = services.refund(payment, reference="refund:1")
    member.user.email = ""
    member.user.save(update_fields=["email"])
    settings.PAYMENT_PROVIDER = "members.payments.LocalPaymentProvider"

    with django_capture_on_commit_callbacks(execute=True):
        assert services.settle_pending_payments()["succeeded"] == 1

    refund.refresh_from_db()
    assert refund.status == "succeeded" and not mail.outbox


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_sweeps_at_once_ask_about_each_pending_refund_once(settings):
    members = [factories.MemberFactory() for _ in range(3)]
    payments_made = [paid(m, reference=f"alc:{i}") for i, m in enumerate(members * 2)]
    settings.PAYMENT_PROVIDER = payments.LOST_ANSWERS
    for i, payment in enumerate(payments_made):
        services.refund(payment, reference=f"refund:{i}")
    assert Payment.objects.filter(status=PaymentStatus.PENDING).count() == 6
    payments.LostAnswers.delay = 0.05  # each answer takes a while, so the sweeps overlap

    results = run_in_threads(3, lambda i: services.settle_pending_payments())

    assert sum(r["succeeded"] for r in results) == 6, results
    assert payments.LostAnswers.calls == {f"refund:{i}": 2 for i in range(6)}
    assert set(Payment.objects.filter(kind="refund").values_list("status", flat=True)) == {
        "succeeded"
    }
    assert OutboxMessage.objects.filter(handler=SETTLED).count() == 6  # one e-mail each


def test_a_plan_charge_whose_answer_was_lost_is_found_when_the_member_tries_again(
    member, plan, settings
):
    settings.PAYMENT_PROVIDER = payments.LOST_ANSWERS
    with pytest.raises(PaymentUnavailable):
        services.choose_plan(member, plan)

    services.choose_plan(member, plan)  # the provider answers the first charge, not a new one

    member.refresh_from_db()
    assert member.status == SubscriptionStatus.ACTIVE and member.credit_balance == 30
    charge = Payment.objects.get()
    assert charge.status == "succeeded" and payments.LostAnswers.calls == {charge.reference: 2}
    assert services.refund_unused_plan_charges() == 0  # the plan started with it


def test_a_plan_charge_answered_yes_after_the_member_gave_up_is_given_back(
    member, plan, settings, django_capture_on_commit_callbacks
):
    settings.PAYMENT_PROVIDER = payments.LOST_ANSWERS
    with pytest.raises(PaymentUnavailable):
        services.choose_plan(member, plan)

    with django_capture_on_commit_callbacks(execute=True):
        assert services.settle_pending_payments()["succeeded"] == 1
        settings.PAYMENT_PROVIDER = "members.payments.LocalPaymentProvider"
        assert services.refund_unused_plan_charges() == 1
    assert services.refund_unused_plan_charges() == 0

    member.refresh_from_db()
    assert member.status == SubscriptionStatus.NONE and member.credit_balance == 0
    charge = Payment.objects.get(kind=PaymentKind.PLAN)
    refund = charge.refunds.get()
    assert (refund.status, refund.amount_cents) == ("succeeded", -charge.amount_cents)
    (message,) = mail.outbox
    assert "the plan did not start with it) has gone through" in message.body
    # Choosing the plan later is a new charge: the one given back is not used again.
    services.choose_plan(member, plan)
    member.refresh_from_db()
    assert member.status == SubscriptionStatus.ACTIVE
    assert Payment.objects.filter(kind=PaymentKind.PLAN, status="succeeded").count() == 2


def test_a_plan_try_of_another_price_is_given_back_when_answered_and_not_used(
    member, plan, market, settings
):
    dearer = factories.PlanFactory(market=market, price_cents=plan.price_cents + 2000)
    settings.PAYMENT_PROVIDER = payments.LOST_ANSWERS
    with pytest.raises(PaymentUnavailable):
        services.choose_plan(member, dearer)
    settings.PAYMENT_PROVIDER = "members.payments.LocalPaymentProvider"
    # The member settles for the cheaper plan; the dearer try is asked about first, and the
    # provider answers yes to it now.
    services.choose_plan(member, plan)
    member.refresh_from_db()
    tried = Payment.objects.get(amount_cents=dearer.price_cents)
    assert member.plan == plan and tried.status == "succeeded"

    assert services.refund_unused_plan_charges() == 1

    assert tried.refunds.get().status == "succeeded"
    assert Payment.objects.get(amount_cents=plan.price_cents).refunds.count() == 0


def made_behind_lost_answers() -> dict[str, int]:
    """What the provider made while its answers were being lost, by its own record, with the
    amount the product recorded for each (None: the product has no record of it)."""
    recorded = dict(Payment.objects.values_list("reference", "amount_cents"))
    return {ref: recorded.get(ref) for ref, made in payments.LostAnswers.made.items() if made.ok}


def test_a_renewal_whose_answer_was_lost_renews_with_the_same_charge_on_the_next_run(
    active_member, settings
):
    due = active_member.next_renewal_at + timedelta(minutes=1)
    settings.PAYMENT_PROVIDER = payments.LOST_ANSWERS
    assert services.renew_due_cycles(now=due) == 0
    renewal = Payment.objects.get(reference__endswith=":1")
    assert renewal.status == PaymentStatus.PENDING  # kept: the provider may have charged it
    # The settle sweep hears the answer first; the charge is the renewal's, not given back.
    assert services.settle_pending_payments(now=due)["succeeded"] == 1
    assert services.refund_unused_plan_charges() == 0
    assert services.renew_due_cycles(now=due) == 1
    active_member.refresh_from_db()
    assert active_member.cycle_number == 1 and active_member.credit_balance == 60
    assert payments.LostAnswers.calls == {renewal.reference: 2}  # charged once, asked twice
    assert services.refund_unused_plan_charges() == 0


@pytest.mark.parametrize("sweep_first", [False, True])
def test_the_plan_cannot_change_under_a_renewal_being_charged(
    active_member, market, settings, sweep_first
):
    bigger = factories.PlanFactory(market=market, credits_per_cycle=80, price_cents=9900)
    due = active_member.next_renewal_at + timedelta(minutes=1)
    settings.PAYMENT_PROVIDER = payments.LOST_ANSWERS
    assert services.renew_due_cycles(now=due) == 0  # charged at 30 credits' price; unanswered
    if sweep_first:  # the settle sweep hears the answer before the next renewal run
        assert services.settle_pending_payments(now=due)["succeeded"] == 1
    with pytest.raises(InvalidPlanState, match="renewal is being charged right now"):
        services.change_plan(active_member, bigger)
    assert services.renew_due_cycles(now=due) == 1
    active_member.refresh_from_db()
    renewal = Payment.objects.get(kind=PaymentKind.PLAN, reference__endswith=":1")
    # The cycle is the plan its charge paid for; the change is welcome from now on.
    assert active_member.plan.price_cents == renewal.amount_cents
    assert active_member.credit_balance == 60  # 30 and 30 more
    services.change_plan(active_member, bigger)
    active_member.refresh_from_db()
    assert active_member.next_plan == bigger


@pytest.mark.parametrize("ended_by", ["cancel", "pause"])
def test_a_renewal_answered_only_after_the_plan_ended_is_given_back(
    active_member, settings, ended_by, django_capture_on_commit_callbacks
):
    first_cycle = Payment.objects.get(kind=PaymentKind.PLAN)
    due = active_member.next_renewal_at + timedelta(minutes=1)
    settings.PAYMENT_PROVIDER = payments.LOST_ANSWERS
    assert services.renew_due_cycles(now=due) == 0  # charged; the answer is lost
    if ended_by == "cancel":
        services.cancel_plan(active_member, now=due)
    else:
        services.pause(active_member)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.settle_pending_payments(now=due)["succeeded"] == 1
        assert services.refund_unused_plan_charges() == 1
        assert services.refund_unused_plan_charges() == 0
        assert services.settle_pending_payments(now=due)["succeeded"] == 1  # the refund's
    renewal = Payment.objects.get(kind=PaymentKind.PLAN, reference__endswith=":1")
    refund = renewal.refunds.get()
    assert (refund.status, refund.amount_cents) == ("succeeded", -renewal.amount_cents)
    assert "the plan did not renew with it" in refund.description
    assert any("did not renew with it" in m.body for m in mail.outbox)
    # Everything the provider made is on record, and the renewal's money came back: the
    # member paid for the cycle they had, not for one that never started.
    made = made_behind_lost_answers()
    assert set(made) == {renewal.reference, refund.reference} and sum(made.values()) == 0
    assert first_cycle.refunds.count() == 0
    active_member.refresh_from_db()
    assert active_member.cycle_number == 0


def test_resuming_while_the_provider_does_not_answer_keeps_the_plan_paused_to_try_again(
    active_member, settings
):
    services.pause(active_member)
    settings.PAYMENT_PROVIDER = payments.LOST_ANSWERS
    with pytest.raises(PaymentUnavailable):
        services.resume(active_member)
    active_member.refresh_from_db()
    assert active_member.status == SubscriptionStatus.PAUSED

    services.resume(active_member)

    active_member.refresh_from_db()
    assert active_member.status == SubscriptionStatus.ACTIVE
    resumed = Payment.objects.filter(kind=PaymentKind.PLAN).order_by("pk").last()
    assert payments.LostAnswers.calls == {resumed.reference: 2}
    assert resumed.status == "succeeded" and services.refund_unused_plan_charges() == 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_member_starting_the_plan_as_the_sweep_gives_its_late_charge_back_pays_once(settings):
    """The member's start and the sweep both want the charge answered yes late: the member
    row lock lets one have it. Either the plan starts with it and nothing is given back, or
    it is given back and the plan starts with a new charge; never both, never neither."""
    for round_ in range(4):
        member = factories.MemberFactory()
        plan = factories.PlanFactory(market=member.home_market)
        settings.PAYMENT_PROVIDER = payments.UNREACHABLE
        with pytest.raises(PaymentUnavailable):
            services.choose_plan(member, plan)
        settings.PAYMENT_PROVIDER = "members.payments.LocalPaymentProvider"
        assert services.settle_pending_payments()["succeeded"] == 1

        def work(i: int, member=member, plan=plan, first=round_ % 2):
            if i == first:
                return services.choose_plan(member, plan)
            return services.refund_unused_plan_charges()

        results = run_in_threads(2, work)

        assert not [r for r in results if isinstance(r, Exception)], results
        member.refresh_from_db()
        assert member.status == SubscriptionStatus.ACTIVE
        charges = Payment.objects.filter(member=member, kind=PaymentKind.PLAN)
        kept = [c for c in charges if not c.refunds.exists()]
        assert len(kept) == 1 and member.subscription_key in kept[0].reference, results
        given_back = len(charges) - len(kept)
        assert given_back == (1 if len(charges) == 2 else 0)
