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


def test_a_double_click_on_save_makes_one_schedule(live_server, studio):
    from studios.models import Schedule

    owner = factories.StaffFactory(studio=studio, role=StaffRole.OWNER).user
    class_type = factories.ClassTypeFactory(studio=studio)
    with chromium() as page:
        log_in(page, live_server.url, owner.email, "correct-horse-battery")
        page.goto(f"{live_server.url}/partner/{studio.slug}/schedule/new/")
        page.select_option("select[name=class_type]", str(class_type.pk))
        page.check("input[name=weekdays][value='0']")
        for name, value in {
            "local_start_time": "07:30",
            "duration_minutes": "50",
            "capacity": "20",
            "network_spots": "8",
            "credit_price": "9",
            "starts_on": timezone.localdate().isoformat(),
        }.items():
            page.fill(f"input[name={name}]", value)
        # Two clicks 20 ms apart, as a double click: the first request is still on its way.
        page.evaluate(
            """() => {
              const save = document.querySelector("form.form-grid button[type=submit]");
              save.click();
              setTimeout(() => save.click(), 20);
            }"""
        )
        # (Without the guard the second click aborts the first navigation; both reach us.)
        for _ in range(100):
            if page.url.endswith(f"/{studio.slug}/schedule/"):
                break
            page.wait_for_timeout(50)
        page.wait_for_load_state("networkidle")
        shot(page, "owner-05-schedule-saved")
    assert Schedule.objects.filter(studio=studio).count() == 1
