"""Plans and their money under random sequences of what members and the periodic tasks do.

A member with a plan changes, pauses, resumes, cancels and chooses plans again while renewals
come due, support adjusts credits, the card starts and stops being declined, and the payment
service loses the answers to some of its calls (a call it made, whose answer did not come
back). After every operation:

- the ledger invariant: balance == sum(entries) >= 0, and the last entry's running balance;
- nothing the payment service made is unknown to the product: each charge or refund it made
  is a payment on record (a charge kept nowhere is money taken with nobody to give it back;
  this caught renewals whose answer was lost, before they were kept as pending);
- no credits for nothing: each cycle's grant has its plan charge, made;

and once the periodic tasks have run (the settle sweep and refund_unused_plan_charges), each
plan charge made is used by its cycle, given back, or the renewal the next run starts with.
"""

from datetime import UTC, datetime, timedelta

from django.db.models import Sum
from django.test import override_settings
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase as HypothesisTestCase

from members import services
from members.errors import MemberError
from members.models import (
    CreditEntry,
    CreditKind,
    Member,
    Payment,
    PaymentKind,
    PaymentStatus,
    SubscriptionStatus,
)
from members.payments import LocalPaymentProvider, ProviderResult
from tests import factories


class Recording(LocalPaymentProvider):
    """The local provider keeping its own record of what it made, by reference; while `lose`
    is on, the answer to a call it makes for the first time is lost (it raises). Asked again
    with the same reference, it answers with what it made, as an idempotent processor does."""

    made: dict[str, ProviderResult] = {}
    lose = False

    def charge(self, *, reference, **kwargs):
        return self._call(super().charge, reference=reference, **kwargs)

    def refund(self, *, reference, **kwargs):
        return self._call(super().refund, reference=reference, **kwargs)

    def _call(self, make, *, reference, **kwargs):
        if reference in Recording.made:
            return Recording.made[reference]
        Recording.made[reference] = made = make(reference=reference, **kwargs)
        if Recording.lose:
            raise ConnectionError("The answer was lost on the way back.")
        return made


# Weighted by repetition: renewals come due and the sweeps run more often than a plan changes.
OPERATIONS = ["choose", "sweep", "answers"] * 2 + ["renew"] * 3
OPERATIONS += ["change", "adjust", "pause", "resume", "cancel", "card"]
operations = st.lists(
    st.tuples(st.sampled_from(OPERATIONS), st.integers(0, 70)),  # the op and its argument
    min_size=5,
    max_size=30,
)


class TestLedgerInvariant(HypothesisTestCase):
    """Each example runs in a transaction of its own, rolled back after it: the sweeps see its
    member alone, and a failing example replays on its own."""

    @settings(max_examples=100, derandomize=True, deadline=None)
    @given(ops=operations)
    def test_plans_keep_the_ledger_and_the_money_straight(self, ops):
        Recording.made, Recording.lose = {}, False
        market = factories.MarketFactory()
        plans = [factories.PlanFactory(market=market, credits_per_cycle=c) for c in (5, 30, 80)]
        member = factories.MemberFactory(home_market=market)
        address = member.user.email
        now = datetime(2026, 1, 31, 8, tzinfo=UTC)
        with override_settings(PAYMENT_PROVIDER=f"{__name__}.Recording"):
            services.choose_plan(member, plans[1], now=now)  # most sequences start from a plan
            for op, arg in ops:
                now = _act(op, arg, member, plans, now, address)
                _assert_books(member, swept=op == "sweep")


def _act(op, arg, member, plans, now, address):
    try:
        match op:
            case "choose":
                services.choose_plan(member, plans[arg % 3], now=now)
            case "change":
                services.change_plan(member, plans[arg % 3])
            case "adjust":
                if arg != 35:
                    services.adjust_credits(member, amount=arg - 35, note="test")
            case "renew":
                now += timedelta(days=1 + arg)
                services.renew_due_cycles(now=now)
            case "pause":
                services.pause(member)
            case "resume":
                services.resume(member, now=now)
            case "cancel":
                services.cancel_plan(member, now=now)
            case "sweep":  # what the periodic tasks do every 5 minutes
                services.settle_pending_payments(now=now)
                services.refund_unused_plan_charges()
            case "answers":  # the service starts or stops losing answers
                Recording.lose = bool(arg % 2)
            case "card":  # the member's card starts or stops being declined
                user = member.user
                user.email = address.replace("@", "+decline@") if arg % 2 else address
                user.save(update_fields=["email"])
    except MemberError:
        pass  # a refusal, with its message
    return now


def _assert_books(member, *, swept: bool) -> None:
    member = Member.objects.get(pk=member.pk)
    entries = CreditEntry.objects.filter(member=member)
    total = entries.aggregate(s=Sum("amount"))["s"] or 0
    assert member.credit_balance == total >= 0
    last = entries.order_by("-id").first()
    assert last is None or last.balance_after == member.credit_balance

    payments = {p.reference: p for p in Payment.objects.filter(member=member)}
    # What was taken or given back for the member: "plan:<member>:…", and "refund:plan:…" for
    # their refunds.
    theirs = {
        ref
        for ref, made in Recording.made.items()
        if made.ok and ref.removeprefix("refund:").split(":")[1] == str(member.pk)
    }
    assert theirs <= set(payments), "the service moved money the product has no record of"
    plan_charges = {
        ref: p
        for ref, p in payments.items()
        if p.kind == PaymentKind.PLAN and ref in Recording.made and Recording.made[ref].ok
    }
    granted = set(entries.filter(kind=CreditKind.GRANT).values_list("reference", flat=True))
    for grant in granted:  # "cycle:<key>:<n>" is paid by "plan:<member>:<key>:<n>"
        assert f"plan:{member.pk}:{grant.removeprefix('cycle:')}" in plan_charges, grant
    if not swept:
        return
    for ref, charge in plan_charges.items():
        _, _, key, cycle = ref.split(":")
        used = f"cycle:{key}:{cycle}" in granted
        given_back = charge.refunds.exclude(status=PaymentStatus.FAILED).exists()
        still_due = (
            member.status == SubscriptionStatus.ACTIVE
            and member.subscription_key == key
            and member.cycle_number + 1 == int(cycle)
        )
        assert used or given_back or still_due, (ref, charge.status, member.status)
