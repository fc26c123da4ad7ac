"""Every page, on a 375-px-wide phone:
- fits the screen: nothing pushes the page wider (a table with more columns than fit scrolls
  sideways inside its own box);
- passes axe-core's accessibility rules (WCAG 2 A and AA: names for every control, contrast,
  landmarks, headings), run in the page by axe-playwright-python."""

import pytest
from axe_playwright_python.sync_playwright import Axe

from bookings import services
from members import services as members_services
from studios.models import OutboxMessage, StaffRole
from tests import factories
from tests.browser import chromium, log_in, needs_chromium, shot

pytestmark = [pytest.mark.browser, needs_chromium, pytest.mark.django_db(transaction=True)]

WIDTH = 375
OVERFLOW = "document.documentElement.scrollWidth - window.innerWidth"


def _check(page, base_url: str, paths: list, name: str) -> list[str]:
    """paths: each a path that answers 200, or (path, status)."""
    axe = Axe()
    found = []
    for entry in paths:
        path, status = entry if isinstance(entry, tuple) else (entry, 200)
        response = page.goto(f"{base_url}{path}")
        assert response.status == status, f"{path} answered {response.status}"
        picture = f"{name}-{WIDTH}-{path.strip('/').replace('/', '-') or 'home'}"
        if (overflow := page.evaluate(OVERFLOW)) > 0:
            found.append(f"{path} is {overflow}px too wide (see {shot(page, picture)})")
        for rule in axe.run(page).response["violations"]:
            where = "; ".join(" ".join(node["target"]) for node in rule["nodes"][:3])
            found.append(f"{path}: {rule['id']} ({rule['help']}) at {where}")
    return found


def test_member_and_partner_pages_fit_a_phone_and_pass_axe(live_server, studio, active_member):
    owner = factories.StaffFactory(studio=studio, role=StaffRole.OWNER).user
    schedule = factories.ScheduleFactory(studio=studio)
    session = factories.ClassSessionFactory(studio=studio)
    full = factories.ClassSessionFactory(studio=studio, network_spots=1, network_booked=1)
    services.book(active_member, session.pk)
    members_services.change_details(
        active_member.user, first_name="", last_name="", email="next@example.com"
    )
    link = OutboxMessage.objects.get(handler="members.emails.send_email_confirmation")
    visitor_pages = [
        "/",
        "/classes/",
        f"/classes/{full.pk}/",
        "/signup/",
        "/login/",
        ("/no-such-page/", 404),
        f"/me/details/email/{link.args[2]}/",
        ("/me/details/email/not-a-link/", 400),
    ]
    member_pages = [
        "/",
        "/classes/",
        f"/classes/{session.pk}/",
        f"/classes/{full.pk}/",
        f"/studios/{studio.slug}/",
        "/me/",
        "/me/plan/",
        "/me/payments/",
        "/me/plan/cancel/",
        "/me/details/",
        "/me/delete/",
        "/me/password/",
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
            "team/",
            "catalog/",
        )
    ]
    with chromium(width=WIDTH, height=800) as page:
        found = _check(page, live_server.url, visitor_pages, "visitor")
        log_in(page, live_server.url, active_member.user.email, "correct-horse-battery")
        found += _check(page, live_server.url, member_pages, "member")
    with chromium(width=WIDTH, height=800) as page:
        log_in(page, live_server.url, owner.email, "correct-horse-battery")
        found += _check(page, live_server.url, partner_pages, "owner")
    assert found == [], "\n".join(found)
