"""Credits under real concurrency on PostgreSQL: the member row lock keeps the ledger whole."""

import pytest
from django.db.models import Sum

from members import services
from members.errors import NotEnoughCredits
from members.models import CreditEntry, Member
from tests import factories
from tests.race import run_in_threads


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_debits_never_take_a_balance_below_zero():
    member = factories.MemberFactory()
    services.adjust_credits(member, amount=30, note="start")

    results = run_in_threads(
        12,
        lambda i: services.adjust_credits(
            Member.objects.get(pk=member.pk), amount=-10, note=f"debit {i}"
        ),
    )

    refused = [r for r in results if isinstance(r, NotEnoughCredits)]
    posted = [r for r in results if isinstance(r, CreditEntry)]
    assert len(posted) == 3 and len(refused) == 9, results
    member.refresh_from_db()
    assert member.credit_balance == 0
    assert CreditEntry.objects.filter(member=member).aggregate(s=Sum("amount"))["s"] == 0
    assert sorted(e.balance_after for e in posted) == [0, 10, 20]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_renewal_runs_renew_each_cycle_once():
    from datetime import UTC, datetime, timedelta

    market = factories.MarketFactory()
    plan = factories.PlanFactory(market=market, credits_per_cycle=20)
    start = datetime(2026, 1, 10, tzinfo=UTC)
    members = [factories.MemberFactory(home_market=market) for _ in range(5)]
    for m in members:
        services.choose_plan(m, plan, now=start)

    results = run_in_threads(4, lambda i: services.renew_due_cycles(now=start + timedelta(days=35)))

    assert sum(results) == 5, results
    for m in members:
        m.refresh_from_db()
        assert m.cycle_number == 1 and m.credit_balance == 40


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_sign_ups_with_one_address_make_one_account():
    from django.contrib.auth import get_user_model

    from members.errors import EmailTaken

    market = factories.MarketFactory()
    # The same address, spelled differently: each thread passes the "already taken?" check
    # before any has committed, so only the database's unique username can decide.
    spellings = ["Sam@Example.com", "sam@example.com", "SAM@EXAMPLE.COM", "sam@Example.com"] * 2
    results = run_in_threads(
        len(spellings),
        lambda i: services.sign_up(email=spellings[i], password="a long passphrase", market=market),
    )
    made = [r for r in results if isinstance(r, Member)]
    refused = [r for r in results if isinstance(r, EmailTaken)]
    assert len(made) == 1 and len(refused) == len(spellings) - 1, results
    assert get_user_model().objects.filter(username="sam@example.com").count() == 1
    assert Member.objects.filter(user__username="sam@example.com").count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_members_taking_the_same_new_address_at_once_get_one_owner():
    from django.contrib.auth import get_user_model

    from members.errors import EmailTaken
    from studios.models import OutboxMessage

    members = [factories.MemberFactory() for _ in range(6)]
    for i, member in enumerate(members):  # each asks for it, while it is free
        spelling = "Same@Example.com" if i % 2 else "same@example.COM"
        services.change_details(member.user, first_name="", last_name="", email=spelling)
    links = OutboxMessage.objects.filter(handler="members.emails.send_email_confirmation")
    tokens = [m.args[2] for m in links.order_by("pk")]
    assert len(tokens) == 6
    results = run_in_threads(6, lambda i: services.confirm_email_change(tokens[i]))
    won = [r for r in results if isinstance(r, get_user_model())]
    assert len(won) == 1, results
    assert all(isinstance(r, EmailTaken) for r in results if r not in won), results
    owners = get_user_model().objects.filter(email__iexact="same@example.com")
    assert owners.count() == 1 and owners.get().username == "same@example.com"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_saving_a_studio_from_several_tabs_at_once_keeps_one_row():
    from members.models import SavedStudio

    member, studio = factories.MemberFactory(), factories.StudioFactory()
    results = run_in_threads(6, lambda i: services.save_studio(member, studio, saved=True))
    assert results == [None] * 6, results  # none failed on the unique constraint
    assert SavedStudio.objects.filter(member=member, studio=studio).count() == 1
