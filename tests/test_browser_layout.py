"""Every page fits a 375-px-wide phone: nothing pushes the page wider than the screen. A table
with more columns than fit scrolls sideways inside its own box, not the whole page."""

import pytest

from bookings import services
from studios.models import StaffRole
from tests import factories
from tests.browser import chromium, log_in, needs_chromium, shot

pytestmark = [pytest.mark.browser, needs_chromium, pytest.mark.django_db(transaction=True)]

WIDTH = 375
OVERFLOW = "document.documentElement.scrollWidth - window.innerWidth"


def _overflows(page, base_url: str, paths: list[str], name: str) -> list[str]:
    found = []
    for path in paths:
        response = page.goto(f"{base_url}{path}")
        assert response.status == 200, f"{path} answered {response.status}"
        if (overflow := page.evaluate(OVERFLOW)) > 0:
            picture = shot(page, f"{name}-{WIDTH}-{path.strip('/').replace('/', '-') or 'home'}")
            found.append(f"{path} by {overflow}px (see {picture})")
    return found


def test_member_and_partner_pages_fit_a_phone(live_server, studio, active_member):
    owner = factories.StaffFactory(studio=studio, role=StaffRole.OWNER).user
    schedule = factories.ScheduleFactory(studio=studio)
    session = factories.ClassSessionFactory(studio=studio)
    services.book(active_member, session.pk)
    member_pages = [
        "/",
        "/classes/",
        f"/classes/{session.pk}/",
        f"/studios/{studio.slug}/",
        "/me/",
        "/me/plan/",
        "/me/schedule/",
    ]
    partner_pages = [
        f"/partner/{studio.slug}/{path}"
        for path in (
            "",
            f"classes/{session.pk}/",
            f"classes/{session.pk}/edit/",
            "schedule/",
            "schedule/new/",
            f"schedule/{schedule.pk}/",
            "settings/",
            "earnings/",
            "premium/",
            "smartspot/",
            "opportunities/",
            "spotlight/",
        )
    ]
    with chromium(width=WIDTH, height=800) as page:
        log_in(page, live_server.url, active_member.user.email, "correct-horse-battery")
        found = _overflows(page, live_server.url, member_pages, "member")
    with chromium(width=WIDTH, height=800) as page:
        log_in(page, live_server.url, owner.email, "correct-horse-battery")
        found += _overflows(page, live_server.url, partner_pages, "owner")
    assert found == [], "wider than a phone's screen: " + "; ".join(found)
