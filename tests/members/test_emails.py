"""A member hears of every change to their plan: once, after it commits, in their market's dates."""

from datetime import timedelta

import pytest
from django.core import mail

from members import emails, services
from members.models import Payment, PaymentStatus, SubscriptionStatus
from studios import outbox
from studios.models import OutboxMessage
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run what a commit would run (the outbox's relay) when the block ends."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def auckland_plan():
    """A market whose calendar is a day ahead of UTC in the afternoon (UTC+13 in summer)."""
    market = factories.MarketFactory(timezone="Pacific/Auckland", currency="EUR")
    return factories.PlanFactory(market=market, name="Core", credits_per_cycle=30, price_cents=4900)


def only_email():
    assert len(mail.outbox) == 1, [m.subject for m in mail.outbox]
    return mail.outbox.pop()


def html_of(email) -> str:
    """The HTML part beside the text, which says the same."""
    (content, mimetype), *_ = email.alternatives
    assert mimetype == "text/html"
    return content


def test_choosing_a_plan_sends_a_receipt_with_the_credits_and_the_renewal_date(
    auckland_plan, now, committed
):
    member = factories.MemberFactory(home_market=auckland_plan.market, user__first_name="Ada")
    with committed():
        services.choose_plan(member, auckland_plan, now=now)  # 15:00 UTC: 04:00 the next day
    email = only_email()
    assert email.to == [member.user.email]
    assert email.body.startswith("Hi Ada,\n")
    assert email.subject == "Welcome to classpass: your Core plan has started"
    assert "€49.00 was charged" in email.body
    assert "30 credits were added to your balance, which is now 30 credits." in email.body
    assert "renews on 27 December 2026" in email.body  # 26 December 15:00 UTC, in Auckland
    html = html_of(email)
    assert "<strong>Core</strong> plan has started. €49.00 was charged" in html
    assert "<strong>30 credits</strong>" in html and "27 December 2026" in html


def test_a_renewal_sends_what_was_charged_granted_and_expired(market, plan, now, committed):
    member = factories.MemberFactory(home_market=market)
    with outbox.silenced():
        services.choose_plan(member, plan, now=now)
        services.adjust_credits(member, amount=25, note="Goodwill")  # 55: 25 above the cap of 30
    with committed():
        assert services.renew_due_cycles(now=now + timedelta(days=31)) == 1
    email = only_email()
    assert email.subject == f"Your {plan.name} plan has renewed"
    assert "$49.00 was charged." in email.body
    assert "30 credits were added. 25 credits were more than the rollover allows" in email.body
    assert "Your balance is now 60 credits." in email.body
    assert "next renewal is on 26 January 2027" in email.body
    html = html_of(email)
    assert 'Expired (over the rollover)</td><td style="text-align: right">25 credits' in html
    assert "<strong>60 credits</strong>" in html
    # The relay ran it once; a second relay sends nothing more.
    outbox.relay()
    assert mail.outbox == []


def test_a_declined_renewal_tells_the_member_why_and_that_the_plan_is_paused(
    market, plan, now, committed
):
    member = factories.MemberFactory(home_market=market)
    with outbox.silenced():
        services.choose_plan(member, plan, now=now)
    member.user.email = "pat+decline@example.com"
    member.user.save()
    with committed():
        assert services.renew_due_cycles(now=now + timedelta(days=31)) == 0
    member.refresh_from_db()
    assert member.status == SubscriptionStatus.PAUSED
    email = only_email()
    assert email.to == ["pat+decline@example.com"]
    assert email.subject == f"Your {plan.name} plan is paused: the renewal payment was declined"
    assert "of $49.00 was declined, with this reason: The card was declined." in email.body
    assert "You keep your 30 credits" in email.body
    assert "with this reason: The card was declined." in html_of(email)
    assert Payment.objects.get(status=PaymentStatus.FAILED).amount_cents == 4900


def test_resuming_and_cancelling_are_confirmed(market, plan, now, committed):
    member = factories.MemberFactory(home_market=market)
    with outbox.silenced():
        services.choose_plan(member, plan, now=now)
        services.pause(member)
    with committed():
        services.resume(member, now=now + timedelta(days=40))
    resumed = only_email()
    assert resumed.subject == f"Your {plan.name} plan is running again"
    assert "Your balance is now 60 credits." in resumed.body
    with committed():
        services.cancel_plan(member)
    cancelled = only_email()
    assert cancelled.subject == f"Your {plan.name} plan is cancelled"
    assert "The 60 credits left in your balance were forfeited" in cancelled.body
    assert "The 60 credits left in your balance were forfeited" in html_of(cancelled)


def test_a_plan_name_is_escaped_in_the_html_part(market, now, committed):
    plan = factories.PlanFactory(market=market, name='<script>alert("x")</script> & Co')
    member = factories.MemberFactory(home_market=market)
    with committed():
        services.choose_plan(member, plan, now=now)
    email = only_email()
    assert '<script>alert("x")</script> & Co plan has started' in email.body  # plain text
    html = html_of(email)
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Co" in html


def test_a_plan_that_cannot_be_paid_sends_nothing(market, plan, now, committed):
    member = factories.MemberFactory(home_market=market, declines=True)
    with committed(), pytest.raises(services.PaymentFailed):
        services.choose_plan(member, plan, now=now)
    assert mail.outbox == [] and not OutboxMessage.objects.exists()


def test_a_renewal_while_the_mail_server_is_down_is_kept_and_sent_once_it_is_back(
    market, plan, now, settings, committed
):
    with outbox.silenced():
        member = factories.MemberFactory(home_market=market)
        services.choose_plan(member, plan, now=now)
    working = settings.MAILERS
    settings.MAILERS = {  # nothing listens on port 1
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": 1, "timeout": 2},
        }
    }
    with committed():
        assert services.renew_due_cycles(now=now + timedelta(days=31)) == 1  # it holds
    member.refresh_from_db()
    assert member.cycle_number == 1 and member.credit_balance == 60
    waiting = OutboxMessage.objects.get(handler="members.emails.send_plan_email")
    assert waiting.done_at is None and waiting.attempts == 1
    settings.MAILERS = working
    OutboxMessage.objects.filter(pk=waiting.pk).update(available_at=now)  # the back-off is over
    outbox.relay()
    outbox.relay()
    assert only_email().subject == f"Your {plan.name} plan has renewed"


def test_an_address_change_link_is_not_sent_for_an_account_deleted_before_it_went_out(market):
    member = factories.MemberFactory(home_market=market)
    # In a test, nothing that waits for a commit runs: the relay has not sent it yet.
    services.change_details(member.user, first_name="", last_name="", email="next@example.com")
    queued = OutboxMessage.objects.get(handler="members.emails.send_email_confirmation")
    services.delete_account(member)
    assert emails.send_email_confirmation(*queued.args) is False
    assert mail.outbox == []
    other = factories.MemberFactory(home_market=market)
    assert emails.send_email_confirmation(other.user_id, "new@example.com", "token") is True
    assert (
        mail.outbox[0].to == ["new@example.com"]
        and "/me/details/email/token/" in mail.outbox[0].body
    )
