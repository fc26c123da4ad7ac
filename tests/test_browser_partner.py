"""The Partner Dashboard in a real browser: the roster works on a 375-px-wide phone."""

from datetime import timedelta

import pytest
from django.utils import timezone

from bookings import services
from studios.models import StaffRole
from tests import factories
from tests.browser import chromium, log_in, needs_chromium, shot

pytestmark = [pytest.mark.browser, needs_chromium, pytest.mark.django_db(transaction=True)]


def test_roster_fits_a_375px_screen_and_checks_in(live_server, studio, active_member):
    staff = factories.StaffFactory(studio=studio, role=StaffRole.FRONT_DESK).user
    session = factories.ClassSessionFactory(
        studio=studio, starts_at=timezone.now() + timedelta(minutes=30)
    )
    reservation = services.book(active_member, session.pk)
    with chromium(width=375, height=800) as page:
        log_in(page, live_server.url, staff.email, "correct-horse-battery")
        page.goto(f"{live_server.url}/partner/{studio.slug}/classes/{session.pk}/")
        assert active_member.user.email in page.content()
        path = shot(page, "roster-375")
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"the page overflows by {overflow}px (see {path})"
        # Nothing may hide past the right edge either, not even inside a scrolling box.
        cut = page.evaluate(
            "Array.from(document.querySelectorAll('main *'))"
            ".filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)"
            ".map(e => e.tagName + '.' + e.className)"
        )
        assert cut == [], f"cut off at 375 px: {cut} (see {path})"
        page.click("text=Check in")
        page.wait_for_load_state("networkidle")
        assert "checked in" in page.content()
    reservation.refresh_from_db()
    assert reservation.status == "attended"
