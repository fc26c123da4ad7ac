"""Whole journeys in Debian's Chromium: a member from sign-up to cancel (and their name), a
visitor buying one class without a plan, an owner at work.

Each step saves a screenshot to artifacts/screenshots/ (git-ignored).
"""

from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from bookings import services as booking_services
from bookings.models import Reservation
from members.models import Member
from studios.models import StaffRole
from tests import factories
from tests.browser import chromium, log_in, needs_chromium, shot, sign_up

pytestmark = [pytest.mark.browser, needs_chromium, pytest.mark.django_db(transaction=True)]


def test_a_member_signs_up_picks_a_plan_searches_books_and_cancels(
    live_server, market, plan, studio
):
    session = factories.ClassSessionFactory(
        studio=studio, starts_at=timezone.now() + timedelta(days=2)
    )
    day = timezone.localtime(session.starts_at, market.tzinfo).date().isoformat()
    with chromium(width=1200, height=900) as page:
        sign_up(
            page, live_server.url, "new.member@example.com", market, screenshot="member-01-signup"
        )
        page.check(f"input[name=plan][value='{plan.pk}']")
        shot(page, "member-02-plan")
        page.click("form button[type=submit]")
        page.wait_for_url("**/me/")
        assert "30" in page.inner_text(".big-number")
        # Until the link e-mailed at sign-up is followed, the account page asks for it.
        assert "new.member@example.com" in page.inner_text(".confirm-address")
        shot(page, "member-02-account")
        page.goto(
            f"{live_server.url}/classes/?market={market.slug}&day={day}&q={session.class_type.name}"
        )
        shot(page, "member-03-search")
        page.click(f"text={session.class_type.name}")
        page.wait_for_url(f"**/classes/{session.pk}/")
        shot(page, "member-04-class")
        page.click("text=Book for 8 credits")
        page.wait_for_url("**/me/schedule/")
        assert "You're booked" in page.content() or "booked into" in page.content()
        shot(page, "member-05-booked")
        page.click("form button.danger")
        page.wait_for_load_state("networkidle")
        assert "Your credits are back" in page.content()
        shot(page, "member-06-cancelled")
        page.goto(f"{live_server.url}/me/")
        page.click("text=Edit details")
        page.wait_for_url("**/me/details/")
        page.fill("input[name=first_name]", "Nova")
        page.fill("input[name=last_name]", "Member")
        shot(page, "member-07-details")
        page.click("form button:text('Save')")
        page.wait_for_url("**/me/")
        assert "Nova Member · new.member@example.com" in page.inner_text("main")
    member = Member.objects.get(user__email="new.member@example.com")
    assert member.user.get_full_name() == "Nova Member"
    assert member.credit_balance == 30
    assert Reservation.objects.get(member=member).status == "cancelled"


def test_a_visitor_without_a_plan_buys_one_class_a_la_carte(live_server, market, plan, studio):
    """Sign up, skip the plans, find the class priced in money with the spots on sale, buy it,
    pay, and see it on the schedule at what it cost."""
    from members.models import Payment, PaymentKind, PaymentStatus
    from premium.models import PremiumSettings

    PremiumSettings.objects.create(studio=studio, price_cents=2900)
    session = factories.ClassSessionFactory(
        studio=studio, starts_at=timezone.now() + timedelta(days=2), network_spots=5, capacity=20
    )
    day = timezone.localtime(session.starts_at, market.tzinfo).date().isoformat()
    with chromium(width=1200, height=900) as page:
        sign_up(page, live_server.url, "one.class@example.com", market)
        page.goto(f"{live_server.url}/classes/?market={market.slug}&day={day}")
        row = page.locator(".session-row", has_text=session.class_type.name)
        assert " ".join(row.locator(".price").inner_text().split()) == "$29.00 3 left"
        shot(page, "a-la-carte-01-search")
        row.locator(f"a[href='/classes/{session.pk}/']").click()
        page.wait_for_url(f"**/classes/{session.pk}/")
        shot(page, "a-la-carte-02-class")
        page.click("text=Buy this class for $29.00")
        page.wait_for_url("**/checkout/**")
        shot(page, "a-la-carte-03-checkout")
        page.click("text=Pay $29.00")
        page.wait_for_url("**/me/schedule/")
        assert "À la carte · $29.00" in page.inner_text("main")
        shot(page, "a-la-carte-04-booked")
    reservation = Reservation.objects.get(member__user__email="one.class@example.com")
    assert (reservation.kind, reservation.status, reservation.money_paid_cents) == (
        "a_la_carte",
        "booked",
        2900,
    )
    payment = Payment.objects.get(kind=PaymentKind.A_LA_CARTE, member=reservation.member)
    assert (payment.status, payment.amount_cents) == (PaymentStatus.SUCCEEDED, 2900)


def test_an_owner_edits_a_class_checks_a_member_in_and_downloads_a_statement(
    live_server, studio, active_member
):
    owner = factories.StaffFactory(studio=studio, role=StaffRole.OWNER).user
    session = factories.ClassSessionFactory(
        studio=studio, starts_at=timezone.now() + timedelta(minutes=30)
    )
    reservation = booking_services.book(active_member, session.pk)
    with chromium(width=1200, height=900) as page:
        log_in(page, live_server.url, owner.email, "correct-horse-battery")
        page.goto(f"{live_server.url}/partner/{studio.slug}/classes/{session.pk}/")
        shot(page, "owner-01-roster")
        page.click("text=Edit class")
        page.fill("input[name=capacity]", "24")
        page.fill("input[name=network_spots]", "12")
        shot(page, "owner-02-edit")
        page.click("text=Save this class")
        page.wait_for_url(f"**/classes/{session.pk}/")
        assert "Class saved" in page.content()
        page.click("text=Check in")
        page.wait_for_load_state("networkidle")
        assert "checked in" in page.content()
        shot(page, "owner-03-checked-in")
        page.goto(f"{live_server.url}/partner/{studio.slug}/earnings/")
        shot(page, "owner-04-earnings")
        with page.expect_download() as download:
            page.click("text=Download CSV")
        path = download.value.path()
        content = Path(path).read_text(encoding="utf-8")
    session.refresh_from_db()
    reservation.refresh_from_db()
    assert (session.capacity, session.network_spots) == (24, 12)
    assert reservation.status == "attended"
    assert "Total payable" in content and f"{studio.payout_rate_cents / 100:.2f}" in content
