"""The ledger invariant under many random operations: balance == sum(entries) >= 0, always."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db.models import Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from members import services
from members.errors import MemberError
from members.models import CreditEntry, Member
from tests import factories

operations = st.lists(
    st.one_of(
        st.tuples(st.just("choose"), st.integers(0, 2)),
        st.tuples(st.just("change"), st.integers(0, 2)),
        st.tuples(st.just("adjust"), st.integers(-60, 60)),
        st.tuples(st.just("renew"), st.integers(1, 70)),
        st.tuples(st.just("pause"), st.just(0)),
        st.tuples(st.just("resume"), st.just(0)),
        st.tuples(st.just("cancel"), st.just(0)),
    ),
    min_size=1,
    max_size=25,
)


@pytest.mark.django_db
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=operations)
def test_balance_always_equals_the_ledger(ops):
    market = factories.MarketFactory()
    plans = [factories.PlanFactory(market=market, credits_per_cycle=c) for c in (5, 30, 80)]
    member = factories.MemberFactory(home_market=market)
    now = datetime(2026, 1, 31, 8, tzinfo=UTC)
    for op, arg in ops:
        try:
            match op:
                case "choose":
                    services.choose_plan(member, plans[arg], now=now)
                case "change":
                    services.change_plan(member, plans[arg])
                case "adjust":
                    if arg:
                        services.adjust_credits(member, amount=arg, note="test")
                case "renew":
                    now += timedelta(days=arg)
                    services.renew_due_cycles(now=now)
                case "pause":
                    services.pause(member)
                case "resume":
                    services.resume(member, now=now)
                case "cancel":
                    services.cancel_plan(member, now=now)
        except MemberError:
            pass
        member = Member.objects.get(pk=member.pk)
        total = CreditEntry.objects.filter(member=member).aggregate(s=Sum("amount"))["s"] or 0
        assert member.credit_balance == total >= 0
        last = CreditEntry.objects.filter(member=member).order_by("-id").first()
        assert last is None or last.balance_after == member.credit_balance
