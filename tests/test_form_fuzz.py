"""Every HTML form answers malformed or extreme input with a form error or a redirect, never
a 5xx.

The API is fuzzed from its schema (test_api_fuzz.py); the pages' forms have no schema, so this
reads each form off its page, as a browser would, and posts it back with one field at a time
replaced by a malformed value. Afterwards DESIGN.md's invariants still hold (no class overbooked,
counters equal to live reservations, every balance equal to its ledger): nothing the forms
refused was half-written.
"""

from html.parser import HTMLParser

import pytest
from django.urls import reverse

from bookings import services as booking_services
from studios.models import StaffRole
from tests import factories
from tests.invariants import assert_invariants

pytestmark = pytest.mark.django_db

MALFORMED = [
    "",
    "x",
    "-1",
    "99999999999999999999",
    "1.5",
    "2026-13-45T25:61",
    "<script>alert(1)</script>",
    "\x00",
    "é" * 2000,
    # Valid, but at the edges: the day after the last one, or before the first, must not be
    # computed blindly; nor may a number that is not finite.
    "9999-12-31",
    "0001-01-01",
    "NaN",
    "Infinity",
]


class PostForms(HTMLParser):
    """The POST forms of a page: their action and each field's value as the page sets it (a
    select's selected or first option, a radio group's checked or first choice, a checked box;
    unchecked boxes are left out, as a browser leaves them)."""

    def __init__(self):
        super().__init__()
        self.forms: list[dict] = []
        self._form: dict | None = None
        self._select: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            post = attrs.get("method", "").lower() == "post"
            self._form = {"action": attrs.get("action") or "", "fields": {}} if post else None
            if post:
                self.forms.append(self._form)
            return
        if self._form is None:
            return
        fields, name = self._form["fields"], attrs.get("name")
        if tag == "input" and name:
            kind = attrs.get("type")
            if kind == "checkbox" and "checked" not in attrs:
                return
            if kind == "radio" and name in fields and "checked" not in attrs:
                return  # the checked choice, else the first
            fields[name] = attrs.get("value") or ""
        elif tag == "textarea" and name:
            fields[name] = ""
        elif tag == "select" and name:
            self._select = name
        elif (
            tag == "option" and self._select and (self._select not in fields or "selected" in attrs)
        ):
            fields[self._select] = attrs.get("value") or ""

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "form":
            self._form = None


def post_forms(client, url: str) -> list[dict]:
    response = client.get(url)
    assert response.status_code == 200, url
    parser = PostForms()
    parser.feed(response.content.decode())
    return [{**form, "action": form["action"] or url} for form in parser.forms]


def fuzz(client, url: str) -> set[str]:
    """Post each form of `url` with each field malformed in turn; returns the forms' actions."""
    fuzzed = set()
    for form in post_forms(client, url):
        for name in form["fields"]:
            if name == "csrfmiddlewaretoken":
                continue
            for value in MALFORMED:
                response = client.post(form["action"], {**form["fields"], name: value})
                fuzzed.add(form["action"])
                assert response.status_code < 500, (form["action"], name, value)
                assert response.status_code in (200, 302, 400, 403, 404, 409), (
                    form["action"],
                    name,
                    value,
                    response.status_code,
                )
    return fuzzed


def test_member_forms_refuse_malformed_input(client, active_member, studio, session):
    booking_services.book(active_member, session.pk)  # the schedule page gets a cancel form
    other = factories.ClassSessionFactory(studio=studio)
    client.force_login(active_member.user)
    pages = [
        reverse("bookings:class", args=[other.pk]),
        reverse("bookings:studio", args=[studio.slug]),
        reverse("members:account"),
        reverse("members:plan"),
        reverse("bookings:schedule"),
        reverse("members:password_change"),
        reverse("members:details"),
        reverse("members:delete_account"),
    ]
    fuzzed = set().union(*(fuzz(client, url) for url in pages))
    # Every form with a field was reached (the others are buttons: cancel, pause, log out).
    assert fuzzed == {
        reverse("bookings:book", args=[other.pk]),
        reverse("members:plan"),
        reverse("members:password_change"),
        reverse("members:class_reminders"),
        reverse("members:save_studio", args=[studio.slug]),
        reverse("members:details"),
        reverse("members:delete_account"),
    }
    assert_invariants()


def test_partner_forms_refuse_malformed_input(client, studio, session):
    owner = factories.StaffFactory(studio=studio, role=StaffRole.OWNER).user
    schedule = factories.ScheduleFactory(studio=studio)
    client.force_login(owner)

    def url(name, *args):
        return reverse(f"partner:{name}", args=[studio.slug, *args])

    pages = [
        url("schedule_new"),
        url("schedule_edit", schedule.pk),
        url("session_edit", session.pk),
        url("roster", session.pk),
        url("settings"),
        url("premium"),
        url("smartspot"),
        url("spotlight"),
        url("team"),
        url("catalog"),
        url("catalog_edit", "class-types", schedule.class_type_id),
    ]
    colleague = factories.StaffFactory(studio=studio, role=StaffRole.MANAGER)
    fuzzed = set().union(*(fuzz(client, page) for page in pages))
    # Each page's form posts back to the page, the schedule's page has an end form too and the
    # team's a role form per person; the roster's and SmartSpot's forms are buttons with no
    # field.
    buttons_only = {url("roster", session.pk), url("smartspot")}
    role_forms = {
        url("team_action", m, "role") for m in (colleague.pk, owner.staff_memberships.get().pk)
    }
    assert fuzzed == set(pages) - buttons_only | {url("schedule_end", schedule.pk)} | role_forms
    colleague.refresh_from_db()
    assert colleague.role == StaffRole.MANAGER
    assert_invariants()
