"""Hardening: CSP without inline code, login throttling, booking rate limits, escaping."""

import re

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from bookings import services as booking_services
from bookings.models import Reservation
from studios.models import StaffRole
from tests import factories

pytestmark = pytest.mark.django_db


def test_pages_carry_a_csp_with_a_nonce_and_no_unsafe_inline(client, studio, session):
    for url in (
        "/",
        reverse("bookings:search"),
        reverse("bookings:class", args=[session.pk]),
        "/api/docs/",
    ):
        response = client.get(url)
        policy = response["Content-Security-Policy"]
        assert "unsafe-inline" not in policy and "default-src 'self'" in policy, url
        found = re.search(r"'nonce-([^']+)'", policy)
        scripts = re.findall(r"<script[^>]*>", response.content.decode())
        inline = [tag for tag in scripts if "src=" not in tag]
        # Inline code only with this response's nonce; files come from this origin.
        assert all(found and f'nonce="{found.group(1)}"' in tag for tag in inline), (url, inline)
        assert (
            "onclick=" not in response.content.decode()
            and "onchange=" not in response.content.decode()
        )
        # Styles come from files: the policy has no nonce or hash for inline ones.
        assert "style-src 'self';" in policy, url
        assert not re.search(r"<style|\sstyle=", response.content.decode()), url


def test_security_headers_in_production_settings(client, settings):
    response = client.get("/")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"


def test_five_wrong_passwords_lock_the_account_for_this_address(client, member):
    for _ in range(5):
        client.post(
            reverse("members:login"), {"username": member.user.email, "password": "wrong-password"}
        )
    locked = client.post(
        reverse("members:login"),
        {"username": member.user.email, "password": "correct-horse-battery"},
    )
    assert locked.status_code == 429 and "Too many attempts" in locked.content.decode()
    assert "_auth_user_id" not in client.session


def test_an_address_typed_in_other_cases_counts_toward_the_same_lockout(client, member):
    member.user.set_password("correct-horse-battery")
    member.user.save()
    email = member.user.email
    for typed in (email.upper(), email.title(), f" {email} ", email.swapcase()):
        client.post(reverse("members:login"), {"username": typed, "password": "wrong-password"})
    api = APIClient()
    api.post(
        "/api/v1/auth/token/",
        {"email": email.capitalize(), "password": "wrong-password"},
        format="json",
    )
    right = {"username": email, "password": "correct-horse-battery"}
    assert client.post(reverse("members:login"), right).status_code == 429
    assert "_auth_user_id" not in client.session
    login = {"email": email, "password": "correct-horse-battery"}
    assert api.post("/api/v1/auth/token/", login, format="json").status_code == 429


def test_every_form_has_a_csrf_token(client, active_member, studio, session):
    client.force_login(active_member.user)
    pages = [
        reverse("members:account"),
        reverse("members:plan"),
        reverse("bookings:class", args=[session.pk]),
        reverse("bookings:schedule"),
    ]
    for url in pages:
        html = client.get(url).content.decode()
        forms = re.findall(r"<form[^>]*method=\"post\"[^>]*>(.*?)</form>", html, flags=re.S)
        assert forms, url
        assert all("csrfmiddlewaretoken" in f for f in forms), url


def test_a_post_without_csrf_is_refused(active_member, session):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(active_member.user)
    response = strict.post(
        reverse("bookings:book", args=[session.pk]), {"offer": "standard", "expected_credits": 8}
    )
    assert response.status_code == 403
    assert not Reservation.objects.exists()


def test_booking_is_rate_limited_per_member(client, active_member, studio, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "booking": "2/min",
        },
    }
    client.force_login(active_member.user)
    sessions = [
        factories.ClassSessionFactory(
            studio=factories.StudioFactory(market=studio.market), credit_price=2
        )
        for _ in range(3)
    ]
    for s in sessions:
        client.post(
            reverse("bookings:book", args=[s.pk]), {"offer": "standard", "expected_credits": 2}
        )
    assert Reservation.objects.count() == 2
    page = client.get(reverse("bookings:class", args=[sessions[2].pk])).content.decode()
    assert "lot of bookings in a minute" in page


PAYLOAD = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def test_user_entered_text_is_escaped_everywhere(client, market, plan, active_member):
    studio = factories.StudioFactory(
        market=market, name=PAYLOAD, description=PAYLOAD, address=PAYLOAD
    )
    class_type = factories.ClassTypeFactory(studio=studio, name=PAYLOAD, description=PAYLOAD)
    instructor = factories.InstructorFactory(studio=studio, name=PAYLOAD)
    session = factories.ClassSessionFactory(
        studio=studio, class_type=class_type, instructor=instructor
    )
    active_member.user.first_name = PAYLOAD
    active_member.user.save()
    booking_services.book(active_member, session.pk)
    owner = factories.StaffFactory(studio=studio, role=StaffRole.OWNER).user
    day = session.starts_at.astimezone(market.tzinfo).date()
    client.force_login(active_member.user)
    member_pages = [
        reverse("bookings:search") + f"?market={market.slug}&day={day}&q={PAYLOAD}",
        reverse("bookings:class", args=[session.pk]),
        reverse("bookings:studio", args=[studio.slug]),
        reverse("bookings:schedule"),
    ]
    client.force_login(owner)
    partner_pages = [
        reverse("partner:roster", args=[studio.slug, session.pk]),
        reverse("partner:overview", args=[studio.slug]),
        reverse("partner:schedule", args=[studio.slug]),
    ]
    for url in member_pages + partner_pages:
        if url in member_pages:
            client.force_login(active_member.user)
        else:
            client.force_login(owner)
        html = client.get(url).content.decode()
        assert "<script>alert" not in html and "<img src=x" not in html, url
        assert "&lt;script&gt;" in html, url


def test_the_api_with_a_login_cookie_needs_the_csrf_token(active_member, session):
    # A browser's login session also authenticates the API; a cross-site POST must not book.
    from rest_framework.test import APIClient

    browser = APIClient(enforce_csrf_checks=True)
    browser.force_login(active_member.user)
    refused = browser.post("/api/v1/reservations/", {"session": session.pk}, format="json")
    assert refused.status_code == 403 and "CSRF" in refused.json()["error"]["message"]
    assert not Reservation.objects.exists()
    browser.get(reverse("bookings:class", args=[session.pk]))  # sets the CSRF cookie
    token = browser.cookies["csrftoken"].value
    booked = browser.post(
        "/api/v1/reservations/", {"session": session.pk}, format="json", HTTP_X_CSRFTOKEN=token
    )
    assert booked.status_code == 201
    assert Reservation.objects.get().member == active_member


def test_an_account_without_a_member_profile_cannot_book_over_the_api(studio, session):
    from rest_framework.test import APIClient

    from members import services as members_services

    staff = factories.StaffFactory(studio=studio, role=StaffRole.OWNER).user
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {members_services.create_api_token(staff)[1]}")
    response = client.post("/api/v1/reservations/", {"session": session.pk}, format="json")
    assert response.status_code == 404
    assert response.json()["error"]["message"] == "This account has no member profile."
    client.credentials()
    client.force_login(staff)  # and with a login session instead of a token
    response = client.post("/api/v1/reservations/", {"session": session.pk}, format="json")
    assert response.status_code == 404
    assert not Reservation.objects.exists()
