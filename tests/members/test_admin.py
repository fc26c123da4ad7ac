"""Django admin over members: the subscription moves only through the services."""

import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse

from members.models import CreditEntry, CreditKind, Member, SubscriptionStatus
from studios.models import OutboxMessage
from tests import factories

pytestmark = pytest.mark.django_db


def change_form(member: Member, **changes) -> dict:
    """What the change form posts: its editable fields, with these changes."""
    return {
        "user": member.user_id,
        "home_market": member.home_market_id,
        "class_reminders": "on" if member.class_reminders else "",
        **changes,
    }


def test_the_change_form_leaves_the_subscription_to_the_services(
    admin_client, active_member, market
):
    """Set by hand, "cancelled" kept the credits a cancellation forfeits, a plan of another
    city renewed at its price, and a new subscription key re-keyed the cycles' payments."""
    before = Member.objects.get(pk=active_member.pk)
    elsewhere = factories.PlanFactory()  # another market's
    url = reverse("admin:members_member_change", args=[active_member.pk])
    page = admin_client.get(url).content.decode()
    assert 'name="status"' not in page and 'name="plan"' not in page
    assert 'name="home_market"' not in page  # a plan belongs to its city

    response = admin_client.post(
        url,
        change_form(
            active_member,
            status=SubscriptionStatus.CANCELLED,
            plan=elsewhere.pk,
            next_plan=elsewhere.pk,
            subscription_key="forged",
            next_renewal_at_0="2026-01-01",
            next_renewal_at_1="00:00:00",
            home_market=elsewhere.market_id,
            class_reminders="",
        ),
    )

    assert response.status_code == 302
    after = Member.objects.get(pk=active_member.pk)
    kept = ["status", "plan_id", "next_plan_id", "subscription_key", "next_renewal_at"]
    kept += ["home_market_id", "credit_balance"]
    assert [getattr(after, f) for f in kept] == [getattr(before, f) for f in kept]
    assert after.class_reminders is False  # what the form may change, it still changes


def test_a_member_without_a_plan_can_be_moved_to_another_city(admin_client, member):
    other = factories.MarketFactory()
    url = reverse("admin:members_member_change", args=[member.pk])
    assert 'name="home_market"' in admin_client.get(url).content.decode()
    assert admin_client.post(url, change_form(member, home_market=other.pk)).status_code == 302
    member.refresh_from_db()
    assert member.home_market == other


def test_support_pauses_plans_and_a_member_without_one_is_named(admin_client, active_member):
    idle = factories.MemberFactory(home_market=active_member.home_market)
    changelist = reverse("admin:members_member_changelist")
    chosen = {"action": "pause_plans", "_selected_action": [active_member.pk, idle.pk]}
    page = admin_client.post(changelist, chosen, follow=True).content.decode()
    assert "Plan paused by support: 1 member(s)." in page
    assert f"{idle.user.email}: only an active plan can be paused." in page.lower()
    active_member.refresh_from_db()
    assert active_member.status == SubscriptionStatus.PAUSED
    assert active_member.next_renewal_at is None and active_member.credit_balance == 30
    assert LogEntry.objects.get().object_id == str(active_member.pk)


def test_support_cancels_plans_after_a_confirmation_and_the_credits_are_forfeited(
    admin_client, active_member
):
    changelist = reverse("admin:members_member_changelist")
    chosen = {"action": "cancel_plans", "_selected_action": [active_member.pk]}
    confirm = admin_client.post(changelist, chosen).content.decode()
    assert "Cancel these plans?" in confirm and "Yes, cancel 1 plan" in confirm
    active_member.refresh_from_db()
    assert active_member.status == SubscriptionStatus.ACTIVE  # nothing yet

    page = admin_client.post(changelist, {**chosen, "confirmed": "yes"}, follow=True)
    assert "Plan cancelled by support: 1 member(s)." in page.content.decode()
    active_member.refresh_from_db()
    assert (active_member.status, active_member.credit_balance) == (
        SubscriptionStatus.CANCELLED,
        0,
    )
    forfeit = CreditEntry.objects.get(member=active_member, kind=CreditKind.FORFEIT)
    assert forfeit.amount == -30
    emails = OutboxMessage.objects.filter(handler="members.emails.send_plan_email")
    assert [m.args[:2] for m in emails if m.args[1] == "cancelled"] == [
        [active_member.pk, "cancelled"]
    ]


def test_someone_on_a_studio_s_team_is_not_deleted_with_django_s_user_admin(admin_client, studio):
    """Their memberships would go with them, and a studio with its only owner."""
    from django.contrib.auth import get_user_model

    from studios.models import StaffMembership, StaffRole
    from tests import factories

    owner = factories.StaffFactory(studio=studio, role=StaffRole.OWNER).user
    delete = reverse("admin:auth_user_delete", args=[owner.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    loner = get_user_model().objects.create_user("nobody@example.com", "nobody@example.com")
    users = reverse("admin:auth_user_changelist")
    both = {"action": "delete_selected", "_selected_action": [owner.pk, loner.pk], "post": "yes"}
    assert admin_client.post(users, both).status_code == 403  # the whole selection refused
    assert StaffMembership.objects.filter(user=owner, studio=studio).exists()
    assert get_user_model().objects.filter(pk=loner.pk).exists()
    alone = {**both, "_selected_action": [loner.pk]}
    assert admin_client.post(users, alone).status_code == 302
    assert not get_user_model().objects.filter(pk=loner.pk).exists()


def test_a_plan_that_members_hold_keeps_its_price_and_credits(admin_client, active_member):
    """Each renewal would charge and grant the new figures, unannounced: a new price is a new
    plan. Its name and whether it is still sold can change."""
    plan = active_member.plan
    change = reverse("admin:members_plan_change", args=[plan.pk])
    page = admin_client.get(change).content.decode()
    assert 'name="price_cents"' not in page and 'name="credits_per_cycle"' not in page
    posted = {"name": "Core (old)", "credits_per_cycle": 99, "price_cents": "1.00", "is_active": ""}
    assert admin_client.post(change, posted).status_code == 302
    before = (plan.credits_per_cycle, plan.price_cents)
    plan.refresh_from_db()
    assert (plan.credits_per_cycle, plan.price_cents) == before
    assert (plan.name, plan.is_active) == ("Core (old)", False)
