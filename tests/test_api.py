"""The REST API: tokens, member and partner endpoints, one error shape, throttling, the schema."""

import json
from datetime import datetime, time, timedelta
from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

from bookings import services as booking_services
from bookings.models import Reservation
from members import services as members_services
from members.models import Member, Payment, PaymentKind, PaymentStatus
from premium.models import Opportunity, PremiumSettings
from studios import services as studio_services
from studios.models import ClassSession, StaffRole
from tests import factories, payments

pytestmark = pytest.mark.django_db


def token_for(user) -> str:
    _, token = members_services.create_api_token(user)
    return token


def api(token: str | None = None) -> APIClient:
    client = APIClient()
    if token:
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def assert_error(response, status: int, code: str | None = None):
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "fields"}
    assert body["error"]["message"]
    # As the schema documents it (ErrorSerializer): each field's messages are a list of strings.
    for messages in body["error"]["fields"].values():
        assert isinstance(messages, list) and all(isinstance(m, str) and m for m in messages)
    if code:
        assert body["error"]["code"] == code, body
    return body["error"]


def test_create_api_token_prints_a_working_token_stored_only_as_a_digest(active_member):
    out = StringIO()
    call_command("create_api_token", active_member.user.email.upper(), stdout=out)
    token = out.getvalue().strip()
    assert api(token).get("/api/v1/me/").json()["credit_balance"] == 30
    stored = AuthToken.objects.get(user=active_member.user)
    assert token not in json.dumps([stored.digest, stored.token_key]) and stored.digest
    members_services.revoke_api_token(active_member.user, stored.token_key)
    assert_error(api(token).get("/api/v1/me/"), 401)


def test_an_app_logs_in_for_a_token_and_logs_out(active_member, plan):
    active_member.user.set_password("correct-horse-battery")
    active_member.user.save()
    kept = token_for(active_member.user)  # another device's token
    email = f"  {active_member.user.email.upper()} "  # typed on a phone
    login = api().post(
        "/api/v1/auth/token/", {"email": email, "password": "correct-horse-battery"}, format="json"
    )
    assert login.status_code == 201, login.content
    token = login.json()["token"]
    assert api(token).get("/api/v1/me/").json()["credit_balance"] == 30
    stored = AuthToken.objects.filter(user=active_member.user)
    assert stored.count() == 2 and token not in json.dumps(list(stored.values_list("digest")))
    active_member.user.refresh_from_db()
    assert active_member.user.last_login is not None

    assert api(token).delete("/api/v1/auth/token/").status_code == 204
    assert_error(api(token).get("/api/v1/me/"), 401)
    assert api(kept).get("/api/v1/me/").status_code == 200  # only this token is revoked
    assert_error(api().delete("/api/v1/auth/token/"), 401)


def test_api_log_in_refuses_without_saying_why_and_locks_out_as_the_website(client, active_member):
    active_member.user.set_password("correct-horse-battery")
    active_member.user.save()
    for body in ({"email": active_member.user.email}, {"email": "x", "password": "y", "otp": 1}):
        assert_error(api().post("/api/v1/auth/token/", body, format="json"), 400, "invalid")
    wrong = {"email": active_member.user.email, "password": "wrong-password"}
    nobody = {"email": "nobody@example.com", "password": "correct-horse-battery"}
    answers = [
        assert_error(api().post("/api/v1/auth/token/", b, format="json"), 400)
        for b in (nobody, wrong)
    ]
    assert answers[0] == answers[1] and answers[0]["code"] == "invalid_credentials"
    for _ in range(4):  # five wrong passwords for this address, as on the website
        api().post("/api/v1/auth/token/", wrong, format="json")
    right = {"email": active_member.user.email, "password": "correct-horse-battery"}
    locked = api().post("/api/v1/auth/token/", right, format="json")
    assert "locked" in assert_error(locked, 429, "locked_out")["message"]
    assert locked["Content-Type"] == "application/json"
    assert not AuthToken.objects.exists()
    # The website's log-in counts the same failures for this address.
    page = client.post(
        reverse("members:login"),
        {"username": active_member.user.email, "password": right["password"]},
    )
    assert page.status_code == 429 and "_auth_user_id" not in client.session


def test_an_app_signs_a_member_up_with_the_websites_checks_and_limit(
    market, settings, django_capture_on_commit_callbacks
):
    with_rates(settings, sign_up_ip="3/hour")
    factories.UserFactory(email="taken@example.com")
    good = {"password": "a-very-good-passphrase", "market": market.slug, "first_name": "Ada"}

    def sign_up(body, **extra):
        with django_capture_on_commit_callbacks(execute=True):
            return api().post("/api/v1/auth/sign-up/", body, format="json", **extra)

    # What the website's form refuses, refused with the field; none of it counted.
    for body in (
        {**good, "email": "ada@example.com", "password": "ada@example.com"},  # like the address
        {**good, "email": "ada@example.com", "password": "short"},
        {**good, "email": "not-an-address"},
        {**good, "email": "ada@example.com", "market": "atlantis"},
        {**good, "email": "ada@example.com", "plan": 1},
        {"email": "ada@example.com"},
    ):
        assert_error(sign_up(body), 400, "invalid")
    assert not Member.objects.filter(user__email="ada@example.com").exists()
    made = sign_up({**good, "email": " Ada@Example.com "})
    assert made.status_code == 201, made.content
    me = api(made.json()["token"]).get("/api/v1/me/").json()
    assert (me["email"], me["market"], me["first_name"]) == ("ada@example.com", market.slug, "Ada")
    assert (me["status"], me["email_confirmed"]) == ("none", False)
    assert [m.to for m in mail.outbox] == [["ada@example.com"]]  # the link to confirm it
    taken = assert_error(sign_up({**good, "email": "taken@example.com"}), 422, "email_taken")
    assert "already exists" in taken["message"]
    assert sign_up({**good, "email": "bo@example.com"}).status_code == 201
    refused = sign_up({**good, "email": "cy@example.com"})
    assert "Try again in" in assert_error(refused, 429, "throttled")["message"]
    assert int(refused["Retry-After"]) > 0
    assert not Member.objects.filter(user__email="cy@example.com").exists()
    assert sign_up({**good, "email": "cy@example.com"}, REMOTE_ADDR="10.0.0.2").status_code == 201


def test_account_page_creates_a_token_once_and_revokes_it(client, active_member):
    client.force_login(active_member.user)
    page = client.post(reverse("members:create_token"), follow=True).content.decode()
    assert "shown only now" in page
    key = AuthToken.objects.get().token_key
    client.post(reverse("members:revoke_token", args=[key]))
    assert not AuthToken.objects.exists()


def test_a_member_sets_a_name_and_turns_class_reminders_off_and_on_over_the_api(
    active_member, studio
):
    client = api(token_for(active_member.user))
    assert client.get("/api/v1/me/").json()["class_reminders"] is True
    off = client.patch("/api/v1/me/", {"class_reminders": False}, format="json")
    assert off.status_code == 200 and off.json()["class_reminders"] is False
    active_member.refresh_from_db()
    assert active_member.class_reminders is False
    # A field left out keeps its value; bad input changes nothing.
    assert client.patch("/api/v1/me/", {}, format="json").json()["class_reminders"] is False
    for body in (
        {"class_reminders": None},
        {"class_reminders": "maybe"},
        {"reminders": True},
        {"email_confirmed": True},  # only the link e-mailed to the address confirms it
    ):
        assert_error(client.patch("/api/v1/me/", body, format="json"), 400, "invalid")
    assert client.get("/api/v1/me/").json()["email_confirmed"] is False
    active_member.refresh_from_db()
    assert active_member.class_reminders is False
    on = client.patch("/api/v1/me/", {"class_reminders": True}, format="json")
    assert on.json()["class_reminders"] is True
    # The name studios see; a name left out keeps its value, the address never changes here.
    named = client.patch("/api/v1/me/", {"first_name": " Maya ", "last_name": "Lin"}, format="json")
    assert (named.json()["first_name"], named.json()["last_name"]) == ("Maya", "Lin")
    renamed = client.patch("/api/v1/me/", {"last_name": "Lin-Okafor"}, format="json").json()
    assert (renamed["first_name"], renamed["last_name"]) == ("Maya", "Lin-Okafor")
    active_member.refresh_from_db()
    assert active_member.display_name == "Maya Lin-Okafor"
    for body in ({"first_name": "x" * 151}, {"email": "new@example.com"}):
        assert_error(client.patch("/api/v1/me/", body, format="json"), 400, "invalid")
    assert client.get("/api/v1/me/").json()["email"] == active_member.user.email
    staff = factories.StaffFactory(studio=studio, role=StaffRole.OWNER).user
    body = {"class_reminders": False}
    assert_error(api(token_for(staff)).patch("/api/v1/me/", body, format="json"), 404)
    assert_error(api().patch("/api/v1/me/", body, format="json"), 401)


def test_a_member_chooses_changes_pauses_resumes_and_cancels_a_plan_over_the_api(
    member, market, plan
):
    bigger = factories.PlanFactory(market=market, credits_per_cycle=60, price_cents=9000)
    factories.PlanFactory(market=market, credits_per_cycle=90, is_active=False)  # retired
    elsewhere = factories.PlanFactory(market=factories.MarketFactory())
    client = api(token_for(member.user))
    offered = client.get("/api/v1/plans/").json()
    assert [p["id"] for p in offered] == [plan.pk, bigger.pk]
    assert offered[1]["price_per_credit_cents"] == 150
    assert not any(p["mine"] or p["from_next_renewal"] for p in offered)
    # A plan of another city, or none at all, is refused and charges nothing.
    for body in ({"plan": elsewhere.pk}, {"plan": "core"}, {}, {"plan": plan.pk, "card": 1}):
        assert_error(client.post("/api/v1/me/plan/", body, format="json"), 400, "invalid")
    assert not Payment.objects.exists()

    started = client.post("/api/v1/me/plan/", {"plan": plan.pk}, format="json")
    assert started.status_code == 200, started.content
    me = started.json()
    assert (me["status"], me["plan"]["id"], me["credit_balance"]) == ("active", plan.pk, 30)
    charge = Payment.objects.get(member=member, kind=PaymentKind.PLAN)
    assert (charge.status, charge.amount_cents) == (PaymentStatus.SUCCEEDED, plan.price_cents)
    # With an active plan, another takes over at the next renewal; the same one undoes that.
    changed = client.post("/api/v1/me/plan/", {"plan": bigger.pk}, format="json").json()
    assert (changed["plan"]["id"], changed["next_plan"]["id"]) == (plan.pk, bigger.pk)
    flags = {
        p["id"]: (p["mine"], p["from_next_renewal"]) for p in client.get("/api/v1/plans/").json()
    }
    assert flags == {plan.pk: (True, False), bigger.pk: (False, True)}
    kept = client.post("/api/v1/me/plan/", {"plan": plan.pk}, format="json").json()
    assert kept["next_plan"] is None
    assert Payment.objects.filter(member=member).count() == 1  # a change charges nothing now

    paused = client.post("/api/v1/me/plan/pause/")
    assert paused.status_code == 200 and paused.json()["status"] == "paused"
    assert_error(client.post("/api/v1/me/plan/pause/"), 422, "invalid_plan_state")
    assert_error(
        client.post("/api/v1/me/plan/", {"plan": plan.pk}, format="json"), 422, "invalid_plan_state"
    )
    resumed = client.post("/api/v1/me/plan/resume/").json()
    assert (resumed["status"], resumed["credit_balance"]) == ("active", 60)
    assert Payment.objects.filter(member=member, status=PaymentStatus.SUCCEEDED).count() == 2
    cancelled = client.post("/api/v1/me/plan/cancel/").json()
    assert (cancelled["status"], cancelled["credit_balance"]) == ("cancelled", 0)
    assert_error(client.post("/api/v1/me/plan/cancel/"), 422, "invalid_plan_state")
    assert_error(client.post("/api/v1/me/plan/resume/"), 422, "invalid_plan_state")
    member.refresh_from_db()
    assert member.credit_balance == sum(e.amount for e in member.credit_entries.all()) == 0


def test_me_says_when_a_declined_renewal_paused_the_plan(member, plan):
    started = timezone.now() - timedelta(days=40)
    members_services.choose_plan(member, plan, now=started)
    client = api(token_for(member.user))
    client.post("/api/v1/me/plan/pause/")  # on purpose: no reason to give
    assert client.get("/api/v1/me/").json()["declined_renewal"] is None
    members_services.resume(member, now=started)
    member.user.email = "pat+decline@example.com"  # the local provider declines it
    member.user.save()
    members_services.renew_due_cycles()
    me = client.get("/api/v1/me/").json()
    assert me["status"] == "paused"
    declined = me["declined_renewal"]
    assert (declined["status"], declined["amount_cents"]) == ("failed", plan.price_cents)
    assert declined["failure_reason"] == "The card was declined."


def test_a_declined_or_unanswered_plan_charge_over_the_api_starts_nothing(market, plan, settings):
    declined = factories.MemberFactory(home_market=market, declines=True)
    error = assert_error(
        api(token_for(declined.user)).post("/api/v1/me/plan/", {"plan": plan.pk}, format="json"),
        402,
        "payment_failed",
    )
    assert "declined" in error["message"]
    declined.refresh_from_db()
    assert (declined.status, declined.credit_balance) == ("none", 0)

    member = factories.MemberFactory(home_market=market)
    client = api(token_for(member.user))
    settings.PAYMENT_PROVIDER = payments.UNREACHABLE
    error = assert_error(
        client.post("/api/v1/me/plan/", {"plan": plan.pk}, format="json"),
        503,
        "payment_unavailable",
    )
    assert "You will not be charged twice" in error["message"]
    settings.PAYMENT_PROVIDER = "members.payments.LocalPaymentProvider"
    again = client.post("/api/v1/me/plan/", {"plan": plan.pk}, format="json").json()
    assert (again["status"], again["credit_balance"]) == ("active", 30)
    assert Payment.objects.get(member=member).status == PaymentStatus.SUCCEEDED  # the same try
    # Staff without a member profile have no plan to choose; nobody signed out either.
    staff = factories.StaffFactory(studio=factories.StudioFactory(market=market)).user
    for path in ("/api/v1/plans/", "/api/v1/me/plan/pause/"):
        method = "get" if path.endswith("plans/") else "post"
        assert_error(getattr(api(token_for(staff)), method)(path), 404)
        assert_error(getattr(api(), method)(path), 401)


def test_a_member_saves_studios_and_searches_only_theirs_over_the_api(active_member, studio):
    other = factories.StudioFactory(market=studio.market)
    tz = studio.market.tzinfo
    day = timezone.localtime(timezone.now(), tz).date() + timedelta(days=1)
    morning = timezone.make_aware(datetime.combine(day, time(9)), tz)
    factories.ClassSessionFactory(studio=studio, starts_at=morning)
    factories.ClassSessionFactory(studio=other, starts_at=morning)
    client = api(token_for(active_member.user))
    assert client.get("/api/v1/me/studios/").json() == []
    for _ in range(2):  # saving twice changes nothing
        saved = client.put(f"/api/v1/me/studios/{studio.slug}/")
        assert saved.status_code == 200 and saved.json()["slug"] == studio.slug
    listed = client.get("/api/v1/me/studios/").json()
    assert [s["slug"] for s in listed] == [studio.slug]
    search = {"market": studio.market.slug, "day": day.isoformat()}
    every = client.get("/api/v1/sessions/", search).json()["results"]
    only = client.get("/api/v1/sessions/", {**search, "mine": "true"}).json()["results"]
    assert {r["studio_slug"] for r in every} == {studio.slug, other.slug}
    assert {r["studio_slug"] for r in only} == {studio.slug}
    # Anonymous: nothing saved, so "mine" means nothing and every class shows.
    anonymous = api().get("/api/v1/sessions/", {**search, "mine": "true"}).json()["results"]
    assert len(anonymous) == 2
    assert_error(client.put("/api/v1/me/studios/no-such-studio/"), 404)
    assert client.delete(f"/api/v1/me/studios/{studio.slug}/").status_code == 204
    assert client.get("/api/v1/me/studios/").json() == []
    assert_error(api().get("/api/v1/me/studios/"), 401)


def test_cities_and_studios_are_open_and_a_member_sees_whether_they_saved_one(
    active_member, studio
):
    factories.MarketFactory(name="Aarhus")
    closed = factories.StudioFactory(market=studio.market, is_active=False)
    cities = api().get("/api/v1/markets/").json()
    assert [c["name"] for c in cities] == sorted(c["name"] for c in cities)
    assert {"slug": studio.market.slug, "currency": studio.market.currency} in [
        {k: c[k] for k in ("slug", "currency")} for c in cities
    ]
    path = f"/api/v1/studios/{studio.slug}/"
    shown = api().get(path).json()
    assert (shown["name"], shown["market"], shown["saved"]) == (
        studio.name,
        studio.market.slug,
        None,
    )
    assert shown["monthly_visit_limit"] == studio.monthly_visit_limit
    client = api(token_for(active_member.user))
    assert client.get(path).json()["saved"] is False
    client.put(f"/api/v1/me/studios/{studio.slug}/")
    assert client.get(path).json()["saved"] is True
    for slug in (closed.slug, "no-such-studio"):
        assert_error(api().get(f"/api/v1/studios/{slug}/"), 404, "not_found")


def test_search_is_open_and_filters_are_validated(studio):
    session = factories.ClassSessionFactory(
        studio=studio, starts_at=timezone.now() + timedelta(hours=3)
    )
    day = timezone.localtime(session.starts_at, studio.market.tzinfo).date().isoformat()
    body = api().get("/api/v1/sessions/", {"market": studio.market.slug, "day": day}).json()
    assert body["count"] == 1 and body["results"][0]["class_name"] == session.class_type.name
    error = assert_error(
        api().get("/api/v1/sessions/", {"market": studio.market.slug, "day": "1999-01-01"}),
        400,
        "invalid",
    )
    # The form's own words, as every 400 of the API gives them: no Python reprs.
    assert error["fields"] == {"day": ["Pick a day within the booking window."]}
    assert error["message"] == "day: Pick a day within the booking window."
    error = assert_error(
        api().get("/api/v1/sessions/", {"min_credits": 5, "max_credits": 2, "time": "noon"}), 400
    )
    assert error["fields"]["max_credits"] == ["The maximum must not be below the minimum."]
    assert "ErrorDetail" not in str(error) and "noon is not one of" in error["fields"]["time"][0]
    assert_error(api().get("/api/v1/sessions/", {"page_size": 100000}), 400, "invalid")
    assert_error(api().get("/api/v1/sessions/", {"market": "atlantis"}), 400, "invalid")


def test_session_detail_lists_the_members_offers(active_member, session):
    body = api(token_for(active_member.user)).get(f"/api/v1/sessions/{session.pk}/").json()
    assert body["offers"][0] | {"explanation": ""} == {
        "kind": "standard",
        "available": True,
        "credits": 8,
        "money_cents": 0,
        "currency": "USD",
        "label": "Book for 8 credits",
        "explanation": "",
        "reason": "",
    }
    assert body["price_explanation"]
    assert_error(api().get("/api/v1/sessions/999999/"), 404, "session_not_found")
    # Once booked, no offer is open to the member: a client does not offer to book it again.
    from bookings import services

    services.book(active_member, session.pk)
    body = api(token_for(active_member.user)).get(f"/api/v1/sessions/{session.pk}/").json()
    assert [(o["available"], o["reason"]) for o in body["offers"]] == [
        (False, "You're already booked into this class.")
    ]


def test_booking_with_an_idempotency_key_returns_the_same_reservation_and_status(
    active_member, session
):
    client = api(token_for(active_member.user))
    first = client.post(
        "/api/v1/reservations/",
        {"session": session.pk, "offer": "standard"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="abc",
    )
    again = client.post(
        "/api/v1/reservations/",
        {"session": session.pk, "offer": "standard"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="abc",
    )
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"] and first.json()["source"] == "api"
    other = factories.ClassSessionFactory(studio=session.studio)
    conflict = client.post(
        "/api/v1/reservations/", {"session": other.pk}, format="json", HTTP_IDEMPOTENCY_KEY="abc"
    )
    assert_error(conflict, 409, "idempotency_conflict")
    assert Reservation.objects.count() == 1
    listed = client.get("/api/v1/reservations/").json()
    assert listed["count"] == 1
    cancelled = client.post(f"/api/v1/reservations/{first.json()['id']}/cancel/")
    assert cancelled.json()["status"] == "cancelled"
    assert client.get("/api/v1/me/credits/").json()["results"][0]["kind"] == "refund"
    payments = client.get("/api/v1/me/payments/").json()
    assert [p["kind"] for p in payments["results"]] == ["plan"]  # the plan's first cycle
    assert payments["results"][0]["amount_cents"] == active_member.plan.price_cents


def test_an_app_reads_the_cancel_terms_and_never_charges_a_fee_it_did_not_show(
    active_member, studio
):
    ahead = factories.ClassSessionFactory(
        studio=studio, starts_at=timezone.now() + timedelta(days=2)
    )
    soon = factories.ClassSessionFactory(
        studio=studio, starts_at=timezone.now() + timedelta(hours=3)
    )
    client = api(token_for(active_member.user))
    booked = {s.pk: booking_services.book(active_member, s.pk).pk for s in (ahead, soon)}
    free = client.get(f"/api/v1/reservations/{booked[ahead.pk]}/cancel/").json()
    assert (free["late"], free["fee_cents"], free["terms"]) == (False, 1000, "Free cancellation.")
    late_url = f"/api/v1/reservations/{booked[soon.pk]}/cancel/"
    late = client.get(late_url).json()
    assert late["late"] is True and "a $10.00 fee is charged" in late["terms"]
    # Sent as a free cancel, a late one is refused with its terms; nothing is charged.
    refused = assert_error(
        client.post(late_url, {"free_only": True}, format="json"), 409, "late_cancel_not_confirmed"
    )
    assert "Cancel again to confirm" in refused["message"]
    assert Reservation.objects.get(pk=booked[soon.pk]).status == "booked"
    assert not Payment.objects.filter(kind=PaymentKind.LATE_CANCEL_FEE).exists()
    assert_error(client.post(late_url, {"free_only": "maybe"}, format="json"), 400, "invalid")
    confirmed = client.post(late_url, format="json")
    assert confirmed.json()["status"] == "late_cancelled"
    assert Payment.objects.get(kind=PaymentKind.LATE_CANCEL_FEE).amount_cents == 1000
    done = client.post(
        f"/api/v1/reservations/{booked[ahead.pk]}/cancel/", {"free_only": True}, format="json"
    )
    assert done.json()["status"] == "cancelled"
    assert_error(client.get(late_url), 409, "not_cancellable")
    other = api(token_for(factories.MemberFactory(home_market=studio.market).user))
    assert_error(other.get(late_url), 404)


def test_bad_input_gets_the_json_error_and_writes_nothing(active_member, session):
    client = api(token_for(active_member.user))
    malformed = client.post("/api/v1/reservations/", "{not json", content_type="application/json")
    assert_error(malformed, 400, "malformed_json")
    assert_error(
        client.post("/api/v1/reservations/", {"session": "abc"}, format="json"), 400, "invalid"
    )
    unknown = assert_error(
        client.post("/api/v1/reservations/", {"session": session.pk, "price": 1}, format="json"),
        400,
    )
    assert unknown["fields"] == {"price": ["Unknown field."]}
    assert_error(
        client.post(
            "/api/v1/reservations/", {"session": session.pk, "expected_credits": 1}, format="json"
        ),
        409,
        "price_changed",
    )
    assert_error(api().post("/api/v1/reservations/", {"session": session.pk}, format="json"), 401)
    assert not Reservation.objects.exists()


def test_sold_out_is_a_409_and_the_waitlist_works(active_member, studio):
    session = factories.ClassSessionFactory(studio=studio, network_spots=1, network_booked=1)
    client = api(token_for(active_member.user))
    assert_error(
        client.post("/api/v1/reservations/", {"session": session.pk}, format="json"),
        409,
        "sold_out",
    )
    ahead = factories.MemberFactory(home_market=active_member.home_market)
    members_services.choose_plan(ahead, active_member.plan)
    later = factories.ClassSessionFactory(
        studio=studio,
        network_spots=1,
        network_booked=1,
        starts_at=session.starts_at + timedelta(days=1),
    )
    booking_services.join_waitlist(ahead, later.pk)
    assert client.get("/api/v1/me/waitlists/").json() == []
    joined = client.post(f"/api/v1/sessions/{session.pk}/waitlist/")
    assert joined.status_code == 201 and joined.json()["position"] == 1
    client.post(f"/api/v1/sessions/{later.pk}/waitlist/")
    mine = client.get("/api/v1/me/waitlists/").json()
    assert [(w["session"], w["position"]) for w in mine] == [(session.pk, 1), (later.pk, 2)]
    assert mine[0]["class_name"] == session.class_type.name
    assert client.delete(f"/api/v1/sessions/{session.pk}/waitlist/").status_code == 204
    assert_error(client.delete(f"/api/v1/sessions/{session.pk}/waitlist/"), 409)
    assert [w["session"] for w in client.get("/api/v1/me/waitlists/").json()] == [later.pk]
    assert api(token_for(ahead.user)).get("/api/v1/me/waitlists/").json()[0]["position"] == 1


def test_a_members_reservation_is_404_for_another_member(active_member, session, market):
    reservation = booking_services.book(active_member, session.pk)
    other = factories.MemberFactory(home_market=market)
    theirs = api(token_for(other.user))
    for action in ("cancel", "pay"):
        error = assert_error(theirs.post(f"/api/v1/reservations/{reservation.pk}/{action}/"), 404)
        # The same words as for a reservation that does not exist, in the product's voice.
        assert error["message"] == "No such reservation."
    missing = assert_error(theirs.post("/api/v1/reservations/999999/cancel/"), 404)
    assert missing["message"] == "No such reservation."


@pytest.fixture
def owner_token(studio):
    return token_for(factories.StaffFactory(studio=studio, role=StaffRole.OWNER).user)


def test_partner_sessions_sync_and_refusals(studio, owner_token, active_member):
    session = factories.ClassSessionFactory(studio=studio, capacity=20, network_spots=10)
    booking_services.book(active_member, session.pk)
    client = api(owner_token)
    base = f"/api/v1/partner/{studio.slug}"
    assert client.get(f"{base}/sessions/").json()["count"] == 1
    synced = client.patch(f"{base}/sessions/{session.pk}/", {"studio_booked": 6}, format="json")
    assert synced.status_code == 200 and synced.json()["studio_booked"] == 6
    refused = assert_error(
        client.patch(f"{base}/sessions/{session.pk}/", {"studio_booked": 20}, format="json"), 422
    )
    assert "studio_booked" in refused["fields"]
    session.refresh_from_db()
    assert session.studio_booked == 6
    created = client.post(
        f"{base}/sessions/",
        {
            "class_type": session.class_type_id,
            "starts_at": (timezone.now() + timedelta(days=3)).isoformat(),
            "duration_minutes": 60,
            "capacity": 12,
            "network_spots": 4,
            "credit_price": 9,
        },
        format="json",
    )
    assert (
        created.status_code == 201
        and ClassSession.objects.filter(pk=created.json()["id"], studio=studio).exists()
    )
    bad = client.post(
        f"{base}/sessions/",
        {
            "class_type": session.class_type_id,
            "starts_at": "2000-01-01T00:00:00Z",
            "duration_minutes": 60,
            "capacity": 12,
            "network_spots": 40,
            "credit_price": 9,
        },
        format="json",
    )
    assert_error(bad, 422)


def test_partner_schedules_are_made_changed_and_ended_as_on_the_schedule_page(studio, owner_token):
    from studios.models import AuditEntry, Schedule

    yoga = factories.ClassTypeFactory(studio=studio)
    retired = factories.ClassTypeFactory(studio=studio, is_active=False)
    elsewhere = factories.ClassTypeFactory()
    client = api(owner_token)
    url = f"/api/v1/partner/{studio.slug}/schedules/"
    today = timezone.localdate(timezone=studio.market.tzinfo)
    body = {
        "class_type": yoga.pk,
        "weekdays": [4, 0, 0],
        "local_start_time": "18:30",
        "duration_minutes": 60,
        "capacity": 20,
        "network_spots": 8,
        "credit_price": 11,
        "starts_on": today.isoformat(),
    }
    # What the page refuses, refused with the field, and nothing made.
    for bad, status, field in (
        ({"class_type": elsewhere.pk}, 400, "class_type"),
        ({"weekdays": [7]}, 400, "weekdays"),
        ({"weekdays": []}, 400, "weekdays"),
        ({"room": 20}, 400, "room"),
        ({"network_spots": 21}, 422, "network_spots"),
        ({"class_type": retired.pk}, 422, "class_type"),
    ):
        error = assert_error(client.post(url, {**body, **bad}, format="json"), status)
        assert field in error["fields"], error
    assert not Schedule.objects.filter(studio=studio).exists()

    made = client.post(url, body, format="json")
    assert made.status_code == 201, made.content
    schedule = made.json()
    assert (schedule["weekdays"], schedule["instructor"]) == ([0, 4], None)
    classes = ClassSession.objects.filter(schedule_id=schedule["id"])
    assert classes.exists() and {c.capacity for c in classes} == {20}
    assert client.get(url).json()["results"][0]["id"] == schedule["id"]

    one = f"{url}{schedule['id']}/"
    first = classes.order_by("starts_at").first()
    studio_services.update_session(studio, first.pk, by=None, capacity=16)  # a smaller room
    changed = client.patch(one, {"capacity": 24}, format="json").json()
    assert changed["schedule"]["capacity"] == 24 and changed["schedule"]["network_spots"] == 8
    assert changed["classes_updated"] == classes.count() - 1
    assert any("keeps its own room of 16" in line for line in changed["kept"])
    assert {c.capacity for c in classes.exclude(pk=first.pk)} == {24}
    assert classes.get(pk=first.pk).capacity == 16
    assert_error(client.patch(one, {"network_spots": 30}, format="json"), 422)

    last_day = first.starts_at.astimezone(studio.market.tzinfo).date()
    before = classes.count()
    ended = client.post(f"{one}end/", {"ends_on": last_day.isoformat()}, format="json").json()
    assert ended["schedule"]["ends_on"] == last_day.isoformat()
    assert ended["classes_removed"] == before - 1
    assert list(classes.all()) == [first]  # a fresh query: the set above was read before
    assert_error(client.post(f"{one}end/", {"ends_on": "soon"}, format="json"), 400)
    actions = set(AuditEntry.objects.filter(studio=studio).values_list("action", flat=True))
    assert {"schedule created", "schedule changed", "schedule ended"} <= actions
    desk = token_for(factories.StaffFactory(studio=studio, role=StaffRole.FRONT_DESK).user)
    assert_error(api(desk).get(url), 403)


def test_partner_settings_change_over_the_api_as_on_the_settings_page(studio, owner_token):
    from studios.models import AuditEntry

    client = api(owner_token)
    url = f"/api/v1/partner/{studio.slug}/settings/"
    shown = client.get(url).json()
    assert shown["monthly_visit_limit"] == studio.monthly_visit_limit
    assert shown["currency"] == studio.market.currency
    for bad in (
        {"monthly_visit_limit": 0},
        {"payout_rate_cents": 0},
        {"payout_rate_cents": 1_000_001},
        {"cancellation_window_hours": "soon"},
        {"currency": "EUR"},
        {"name": "Another name"},
    ):
        assert_error(client.patch(url, bad, format="json"), 400, "invalid")
    assert not AuditEntry.objects.filter(studio=studio).exists()
    saved = client.patch(
        url, {"monthly_visit_limit": 4, "description": "  Quiet loft.  "}, format="json"
    ).json()
    assert (saved["monthly_visit_limit"], saved["description"]) == (4, "Quiet loft.")
    studio.refresh_from_db()
    assert (studio.monthly_visit_limit, studio.description) == (4, "Quiet loft.")
    assert studio.cancellation_window_hours == shown["cancellation_window_hours"]  # not sent
    actions = list(AuditEntry.objects.filter(studio=studio).values_list("action", flat=True))
    assert sorted(actions) == ["profile", "settings"]
    desk = token_for(factories.StaffFactory(studio=studio, role=StaffRole.FRONT_DESK).user)
    assert_error(api(desk).patch(url, {"monthly_visit_limit": 9}, format="json"), 403)
    studio.refresh_from_db()
    assert studio.monthly_visit_limit == 4


def test_owners_read_the_audit_log_over_the_api_newest_first(studio):
    owner = factories.StaffFactory(studio=studio, role=StaffRole.OWNER).user
    client = api(token_for(owner))
    base = f"/api/v1/partner/{studio.slug}"
    before = studio.monthly_visit_limit
    client.patch(f"{base}/settings/", {"monthly_visit_limit": before + 1}, format="json")
    client.patch(f"{base}/premium/", {"max_spots": 5}, format="json")
    elsewhere = factories.StaffFactory(role=StaffRole.OWNER)  # another studio's change
    studio_services.update_settings(elsewhere.studio, by=elsewhere.user, monthly_visit_limit=9)
    entries = client.get(f"{base}/audit/").json()["results"]
    assert [(e["action"], e["user"]) for e in entries] == [
        ("premium settings", owner.email),
        ("settings", owner.email),
    ]
    assert (entries[1]["before"], entries[1]["after"]) == (
        {"monthly_visit_limit": before},
        {"monthly_visit_limit": before + 1},
    )
    manager = token_for(factories.StaffFactory(studio=studio, role=StaffRole.MANAGER).user)
    assert_error(api(manager).get(f"{base}/audit/"), 403)  # owners only, as on the page


def test_premium_settings_and_prices_change_over_the_api_as_on_the_premium_page(
    studio, owner_token
):
    from premium import selectors as premium_selectors
    from studios.models import AuditEntry

    client = api(owner_token)
    url = f"/api/v1/partner/{studio.slug}/premium/"
    shown = client.get(url).json()
    # A studio that never saved its settings is shown the defaults it runs on.
    assert shown["price_cents"] == premium_selectors.default_price_cents(studio) > 0
    assert (shown["currency"], shown["class_type_prices"]) == (studio.market.currency, [])
    for bad in (
        {"max_spots": -1},
        {"max_spots": 201},
        {"price_cents": 0},
        {"price_cents": 1_000_001},
        {"smartspot_cap": 51},
        {"enabled": "maybe"},
        {"currency": "EUR"},
        {"class_type_prices": []},
        {"payout_rate_cents": 100},
    ):
        assert_error(client.patch(url, bad, format="json"), 400, "invalid")
    assert not PremiumSettings.objects.filter(studio=studio).exists()
    saved = client.patch(url, {"smartspot_enabled": False, "max_spots": 5}, format="json").json()
    assert (saved["smartspot_enabled"], saved["max_spots"]) == (False, 5)
    row = PremiumSettings.objects.get(studio=studio)
    assert (row.smartspot_enabled, row.max_spots, row.price_cents) == (
        False,
        5,
        shown["price_cents"],  # not sent: kept
    )
    entry = AuditEntry.objects.get(studio=studio, action="premium settings")
    assert entry.after == {"smartspot_enabled": False, "max_spots": 5}

    class_type = factories.ClassTypeFactory(studio=studio, name="Reformer")
    price_url = f"{url}prices/{class_type.pk}/"
    assert_error(client.put(price_url, {"price_cents": 0}, format="json"), 400, "invalid")
    assert_error(client.put(price_url, {"price": 2400}, format="json"), 400, "invalid")
    elsewhere = factories.ClassTypeFactory()  # another studio's
    assert_error(
        client.put(f"{url}prices/{elsewhere.pk}/", {"price_cents": 2400}, format="json"), 404
    )
    assert client.put(price_url, {"price_cents": 2400}, format="json").json() == {
        "class_type": class_type.pk,
        "class_type_name": "Reformer",
        "price_cents": 2400,
    }
    assert premium_selectors.price_for(row, class_type) == 2400  # what Premium spots now cost
    assert client.get(url).json()["class_type_prices"] == [
        {"class_type": class_type.pk, "class_type_name": "Reformer", "price_cents": 2400}
    ]
    assert client.delete(price_url).status_code == 204
    assert premium_selectors.price_for(row, class_type) == row.price_cents
    assert client.get(url).json()["class_type_prices"] == []
    prices = AuditEntry.objects.filter(studio=studio, action="premium price")
    assert [e.after for e in prices.order_by("pk")] == [
        {"price_cents": 2400},
        {"price_cents": None},
    ]

    manager = token_for(factories.StaffFactory(studio=studio, role=StaffRole.MANAGER).user)
    assert api(manager).patch(url, {"max_spots": 4}, format="json").status_code == 200
    desk = token_for(factories.StaffFactory(studio=studio, role=StaffRole.FRONT_DESK).user)
    assert_error(api(desk).get(url), 403)
    assert_error(api(desk).put(price_url, {"price_cents": 900}, format="json"), 403)
    assert PremiumSettings.objects.get(studio=studio).max_spots == 4
    assert not premium_selectors.class_type_prices(studio)


def test_owners_buy_and_steer_spotlight_campaigns_over_the_api_as_on_the_page(studio, owner_token):
    from marketing import services as marketing_services
    from marketing.models import SpotlightCampaign, SpotlightDay, SpotlightPrice

    SpotlightPrice.objects.create(market=studio.market, category="", daily_fee_cents=1500)
    SpotlightPrice.objects.create(market=studio.market, category="yoga", daily_fee_cents=1000)
    client = api(owner_token)
    url = f"/api/v1/partner/{studio.slug}/spotlight/"
    assert client.get(url).json()["results"] == []
    tomorrow = marketing_services.local_today(studio) + timedelta(days=1)
    week = {
        "starts_on": str(tomorrow),
        "ends_on": str(tomorrow + timedelta(days=6)),
        "daily_fee_cents": 1000,
        "categories": ["yoga"],
    }
    for bad in (
        {**week, "categories": ["juggling"]},
        {**week, "daily_fee_cents": 0},
        {**week, "starts_on": "soon"},
        {**week, "studio": 1},
        {k: v for k, v in week.items() if k != "ends_on"},
    ):
        assert_error(client.post(url, bad, format="json"), 400, "invalid")
    refused = client.post(
        url, {**week, "starts_on": str(tomorrow - timedelta(days=1))}, format="json"
    )
    assert_error(refused, 422, "spotlight_error")
    assert "starts_on" in refused.json()["error"]["fields"]
    assert_error(client.post(url, {**week, "daily_fee_cents": 999}, format="json"), 422)
    assert not SpotlightCampaign.objects.exists()

    bought = client.post(url, {**week, "categories": ["yoga", "yoga"]}, format="json")
    assert bought.status_code == 201, bought.content
    campaign = SpotlightCampaign.objects.get(studio=studio)
    assert bought.json() == {
        "id": campaign.pk,
        **week,
        "currency": studio.market.currency,
        "status": "active",
        "impressions": 0,
        "clicks": 0,
        "bookings": 0,
        "cost_cents": 0,
        "cost_per_booking_cents": None,
    }
    # The same days for the whole market would charge the studio twice for yoga's searches.
    assert_error(client.post(url, {**week, "categories": []}, format="json"), 422)
    SpotlightDay.objects.create(
        campaign=campaign, day=tomorrow, impressions=40, clicks=6, bookings=3, fee_cents=1000
    )
    SpotlightDay.objects.create(
        campaign=campaign, day=tomorrow + timedelta(days=1), impressions=10, bookings=1
    )
    (shown,) = client.get(url).json()["results"]
    assert (shown["impressions"], shown["clicks"], shown["bookings"]) == (50, 6, 4)
    assert (shown["cost_cents"], shown["cost_per_booking_cents"]) == (1000, 250)

    steer = f"{url}{campaign.pk}/"
    assert client.post(f"{steer}pause/").json()["status"] == "paused"
    assert_error(client.post(f"{steer}pause/"), 422, "spotlight_error")
    assert client.post(f"{steer}resume/").json()["status"] == "active"
    ended = client.post(f"{steer}end/").json()
    assert (ended["status"], ended["ends_on"], ended["bookings"]) == ("ended", str(tomorrow), 4)
    assert_error(client.post(f"{steer}resume/"), 422, "spotlight_error")
    other = token_for(factories.StaffFactory(role=StaffRole.OWNER).user)
    assert_error(api(other).post(f"{steer}pause/"), 404)
    manager = token_for(factories.StaffFactory(studio=studio, role=StaffRole.MANAGER).user)
    assert_error(api(manager).get(url), 403)
    assert_error(api(manager).post(url, week, format="json"), 403)
    campaign.refresh_from_db()
    assert (campaign.status, SpotlightCampaign.objects.count()) == ("ended", 1)


def test_partner_roster_check_in_and_earnings(studio, owner_token, active_member):
    session = factories.ClassSessionFactory(
        studio=studio, starts_at=timezone.now() + timedelta(minutes=20)
    )
    reservation = booking_services.book(active_member, session.pk)
    client = api(owner_token)
    base = f"/api/v1/partner/{studio.slug}"
    roster = client.get(f"{base}/sessions/{session.pk}/roster/").json()
    assert roster[0]["member"] == active_member.user.email and roster[0]["shown_as"] == "Standard"
    assert roster[0]["member_name"] == active_member.user.email  # no name given
    active_member.user.first_name, active_member.user.last_name = "Maya", "Lin"
    active_member.user.save()
    roster = client.get(f"{base}/sessions/{session.pk}/roster/").json()
    assert roster[0]["member_name"] == "Maya Lin"
    assert (
        client.post(f"{base}/reservations/{reservation.pk}/check-in/").json()["status"]
        == "attended"
    )
    assert (
        client.get(f"{base}/earnings/").json()["results"][0]["amount_cents"]
        == studio.payout_rate_cents
    )
    assert_error(client.get(f"{base}/earnings/", {"month": "nope"}), 400)
    # Months whose neighbours leave the calendar, or without a statement: 400, not 500.
    for month in ("9999-12", "0001-01", "2019-12", "2026-00"):
        assert_error(client.get(f"{base}/earnings/", {"month": month}), 400)


def test_partner_opportunities_accept(studio, owner_token):
    session = factories.ClassSessionFactory(studio=studio, capacity=20, network_spots=8)
    opportunity = factories.OpportunityFactory(session=session)
    client = api(owner_token)
    base = f"/api/v1/partner/{studio.slug}"
    assert client.get(f"{base}/opportunities/").json()["count"] == 1
    accepted = client.post(
        f"{base}/opportunities/{opportunity.pk}/accept/", {"scope": "session"}, format="json"
    )
    assert accepted.json()["status"] == "accepted"
    session.refresh_from_db()
    assert session.network_spots == 10
    assert_error(client.post(f"{base}/opportunities/{opportunity.pk}/dismiss/"), 422)
    # The decided ones, newest decision first, with who decided and what the spots sold.
    Opportunity.objects.filter(pk=opportunity.pk).update(
        decided_at=timezone.now() - timedelta(hours=1)
    )
    ClassSession.objects.filter(pk=session.pk).update(network_booked=9)
    later = factories.OpportunityFactory(
        session=factories.ClassSessionFactory(studio=studio, capacity=20, network_spots=8)
    )
    assert client.post(f"{base}/opportunities/{later.pk}/dismiss/").status_code == 200
    factories.OpportunityFactory(session=factories.ClassSessionFactory())  # another studio's
    assert client.get(f"{base}/opportunities/").json()["count"] == 0
    decided = client.get(f"{base}/opportunities/", {"status": "decided"}).json()["results"]
    owner = studio.staff.get(role=StaffRole.OWNER).user.email
    assert [(d["id"], d["status"], d["decided_by"], d["sold"]) for d in decided] == [
        (later.pk, "dismissed", owner, None),
        (opportunity.pk, "accepted", owner, 1),  # 9 booked of the 8 it had before
    ]
    assert_error(client.get(f"{base}/opportunities/", {"status": "all"}), 400)


def test_partner_endpoints_are_404_for_other_studios_and_403_for_roles(studio, active_member):
    other_owner = token_for(factories.StaffFactory(role=StaffRole.OWNER).user)
    front_desk = token_for(factories.StaffFactory(studio=studio, role=StaffRole.FRONT_DESK).user)
    member = token_for(active_member.user)
    session = factories.ClassSessionFactory(studio=studio)
    base = f"/api/v1/partner/{studio.slug}"
    for token in (other_owner, member):
        for path in ("sessions/", f"sessions/{session.pk}/roster/", "earnings/", "opportunities/"):
            assert_error(api(token).get(f"{base}/{path}"), 404)
        assert_error(
            api(token).patch(f"{base}/sessions/{session.pk}/", {"studio_booked": 1}, format="json"),
            404,
        )
    assert_error(api(front_desk).get(f"{base}/sessions/"), 403)
    assert api(front_desk).get(f"{base}/sessions/{session.pk}/roster/").status_code == 200
    session.refresh_from_db()
    assert session.studio_booked == 0


def test_every_partner_api_url_is_a_404_for_other_studios_staff_and_members(studio, active_member):
    """Each partner endpoint, whatever the method: nothing of this studio is read or changed
    by the owner of another studio or by a member (the API's row of the tenant matrix)."""
    from classpass import api_urls
    from marketing.models import SpotlightCampaign
    from studios.models import AuditEntry, ClassType, Instructor

    session = factories.ClassSessionFactory(studio=studio)
    reservation = booking_services.book(active_member, session.pk)
    opportunity = Opportunity.objects.create(
        session=session, studio=studio, suggested_spots=2, expected_revenue_cents=3000, reason="-"
    )
    instructor = factories.InstructorFactory(studio=studio)
    schedule = factories.ScheduleFactory(
        studio=studio, class_type=session.class_type, instructor=instructor
    )
    campaign = SpotlightCampaign.objects.create(
        studio=studio,
        market=studio.market,
        starts_on=timezone.localdate() + timedelta(days=2),
        ends_on=timezone.localdate() + timedelta(days=8),
        daily_fee_cents=1500,
    )
    values = {
        "campaign_id": campaign.pk,
        "studio_slug": studio.slug,
        "session_id": session.pk,
        "reservation_id": reservation.pk,
        "opportunity_id": opportunity.pk,
        "class_type_id": session.class_type_id,
        "instructor_id": instructor.pk,
        "schedule_id": schedule.pk,
        "webhook_id": 1,
        "membership_id": factories.StaffFactory(studio=studio, role=StaffRole.MANAGER).pk,
    }
    names = [p.name for p in api_urls.urlpatterns if p.name.startswith("api-partner-")]
    assert len(names) >= 14
    outsiders = [
        token_for(factories.StaffFactory(role=StaffRole.OWNER).user),
        token_for(active_member.user),
    ]
    body = {
        "studio_booked": 1,
        "name": "Taken",
        "is_active": False,
        "url": "https://x.test/",
        "capacity": 30,
        "ends_on": "2026-12-01",
        "price_cents": 100,
        "max_spots": 0,
    }
    for token in outsiders:
        client = api(token)
        for name in names:
            pattern = next(p for p in api_urls.urlpatterns if p.name == name)
            address = reverse(name, kwargs={k: values[k] for k in pattern.pattern.converters})
            for method in (client.get, client.post, client.put, client.patch, client.delete):
                response = method(address, body, format="json")
                assert response.status_code == 404, (name, method.__name__, response.content)
    reservation.refresh_from_db()
    opportunity.refresh_from_db()
    session.refresh_from_db()
    assert reservation.status == "booked" and reservation.marked_at is None
    assert opportunity.status == "open" and session.studio_booked == 0
    assert ClassType.objects.filter(studio=studio, is_active=True).count() == 1
    assert Instructor.objects.filter(studio=studio, is_active=True).count() == 1
    schedule.refresh_from_db()
    assert (schedule.capacity, schedule.ends_on) == (20, None)
    assert not AuditEntry.objects.filter(studio=studio).exists()
    assert not PremiumSettings.objects.filter(studio=studio).exists()
    campaign.refresh_from_db()
    assert campaign.status == "active"


def test_owners_run_the_team_over_the_api(studio, django_capture_on_commit_callbacks):
    from django.core import mail

    from studios.models import AuditEntry, StaffMembership

    owner = factories.StaffFactory(studio=studio, role=StaffRole.OWNER).user
    client = api(token_for(owner))
    base = f"/api/v1/partner/{studio.slug}/team/"
    listed = client.get(base).json()["results"]
    assert [(m["email"], m["role"]) for m in listed] == [(owner.email, "owner")]
    with django_capture_on_commit_callbacks(execute=True):
        added = client.post(base, {"email": " New@Desk.Test ", "role": "front_desk"}, format="json")
    assert added.status_code == 201, added.content
    new = added.json()
    assert (new["email"], new["role"]) == ("new@desk.test", "front_desk")
    assert mail.outbox[-1].to == ["new@desk.test"]  # a link to choose a password
    again = assert_error(
        client.post(base, {"email": "new@desk.test", "role": "manager"}, format="json"), 422
    )
    assert again["fields"] == {"email": ["new@desk.test is already on the team (front desk)."]}
    assert_error(client.post(base, {"email": "x@desk.test", "role": "boss"}, format="json"), 400)
    assert_error(
        client.post(base, {"email": "x@desk.test", "role": "owner", "x": 1}, format="json"), 400
    )
    one = f"{base}{new['id']}/"
    assert client.patch(one, {"role": "manager"}, format="json").json()["role"] == "manager"
    assert_error(api(token_for(StaffMembership.objects.get(pk=new["id"]).user)).get(base), 403)
    mine = StaffMembership.objects.get(user=owner).pk
    last = assert_error(client.patch(f"{base}{mine}/", {"role": "manager"}, format="json"), 422)
    assert "at least one owner" in last["message"]
    assert client.delete(one).status_code == 204
    assert_error(client.get(one), 404)
    assert_error(client.delete(one), 404)
    assert [m["email"] for m in client.get(base).json()["results"]] == [owner.email]
    assert list(
        AuditEntry.objects.filter(studio=studio).order_by("pk").values_list("action", flat=True)
    ) == ["staff added", "staff role", "staff removed"]


def with_rates(settings, **rates):
    """Override some of the API's rates for one test (DRF reloads its settings)."""
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], **rates},
    }


def test_throttling_per_token_answers_429_with_retry_after(active_member, settings):
    with_rates(settings, token="3/min")
    client = api(token_for(active_member.user))
    statuses = [client.get("/api/v1/me/").status_code for _ in range(3)]
    assert statuses == [200, 200, 200]
    refused = client.get("/api/v1/me/")
    assert_error(refused, 429, "throttled")
    assert 0 < int(refused["Retry-After"]) <= 60
    # Another token of the same user has its own budget; the user's is far from used.
    assert api(token_for(active_member.user)).get("/api/v1/me/").status_code == 200


def test_throttling_per_user_spans_tokens_and_anonymous_per_address(active_member, settings):
    with_rates(settings, user="2/min", anon="1/min")
    user = active_member.user
    assert api(token_for(user)).get("/api/v1/me/").status_code == 200
    assert api(token_for(user)).get("/api/v1/me/").status_code == 200
    assert_error(api(token_for(user)).get("/api/v1/me/"), 429, "throttled")
    assert api().get("/api/v1/sessions/").status_code == 200
    assert_error(api().get("/api/v1/sessions/"), 429, "throttled")


def test_booking_over_the_api_has_its_own_limit(active_member, studio, settings):
    with_rates(settings, booking="1/min")
    client = api(token_for(active_member.user))
    first, second = (factories.ClassSessionFactory(studio=studio, credit_price=1) for _ in range(2))
    assert (
        client.post("/api/v1/reservations/", {"session": first.pk}, format="json").status_code
        == 201
    )
    assert_error(
        client.post("/api/v1/reservations/", {"session": second.pk}, format="json"),
        429,
        "throttled",
    )
    assert client.get("/api/v1/reservations/").status_code == 200  # reading is not booking


def test_schema_validates_and_the_docs_use_local_assets(client):
    from drf_spectacular.validation import validate_schema

    schema = client.get("/api/schema/?format=json")
    assert schema.status_code == 200
    document = schema.json()
    validate_schema(document)
    operations = [op for path in document["paths"].values() for op in path.values()]
    assert len(operations) >= 20
    documented = [op for op in operations if "examples" in json.dumps(op)]
    assert len(documented) == len(operations), [
        op["operationId"] for op in operations if op not in documented
    ]
    docs = client.get("/api/docs/").content.decode()
    assert "drf_spectacular_sidecar" in docs and "cdn" not in docs.lower()


def test_an_expired_token_is_refused(active_member):
    record, token = members_services.create_api_token(active_member.user)
    AuthToken.objects.filter(pk=record.pk).update(expiry=timezone.now() - timedelta(seconds=1))
    assert_error(api(token).get("/api/v1/me/"), 401)


def test_a_class_cannot_borrow_another_studios_class_type_or_instructor(studio, owner_token):
    other = factories.StudioFactory(market=studio.market)
    own_type = factories.ClassTypeFactory(studio=studio)
    body = {
        "class_type": own_type.pk,
        "starts_at": (timezone.now() + timedelta(days=3)).isoformat(),
        "duration_minutes": 60,
        "capacity": 12,
        "network_spots": 4,
        "credit_price": 9,
    }
    base = f"/api/v1/partner/{studio.slug}"
    for field, foreign in (
        ("class_type", factories.ClassTypeFactory(studio=other).pk),
        ("instructor", factories.InstructorFactory(studio=other).pk),
    ):
        refused = assert_error(
            api(owner_token).post(f"{base}/sessions/", {**body, field: foreign}, format="json"),
            400,
        )
        assert field in refused["fields"]
    assert not ClassSession.objects.exists()


def test_partner_catalog_adds_changes_and_retires_class_types_and_instructors(studio, owner_token):
    from studios.models import AuditEntry, ClassType, Instructor

    client = api(owner_token)
    base = f"/api/v1/partner/{studio.slug}"
    added = client.post(
        f"{base}/class-types/",
        {"name": "  Power Yoga ", "category": "yoga", "duration_minutes": 60},
        format="json",
    )
    assert added.status_code == 201, added.content
    power = added.json()
    assert power["name"] == "Power Yoga" and power["is_active"] is True
    # A partial change keeps the rest; a name is unique per studio whatever its case.
    longer = client.patch(
        f"{base}/class-types/{power['id']}/", {"duration_minutes": 75}, format="json"
    )
    assert longer.json() == {**power, "duration_minutes": 75}
    twin = client.post(
        f"{base}/class-types/",
        {"name": "POWER YOGA", "category": "yoga", "duration_minutes": 45},
        format="json",
    )
    assert "name" in assert_error(twin, 422)["fields"]
    for bad in (
        {"name": "", "category": "yoga", "duration_minutes": 45},
        {"name": "Hot", "category": "darts", "duration_minutes": 45},
        {"name": "Hot", "category": "yoga", "duration_minutes": 2},
        {"name": "Hot", "category": "yoga", "duration_minutes": 45, "studio": 1},
    ):
        assert_error(client.post(f"{base}/class-types/", bad, format="json"), 400)
    assert ClassType.objects.filter(studio=studio).count() == 1
    # Retiring one keeps it listed, marked, and a class can no longer be made of it.
    retired = client.patch(
        f"{base}/class-types/{power['id']}/", {"is_active": False}, format="json"
    )
    assert retired.json()["is_active"] is False
    listed = client.get(f"{base}/class-types/").json()["results"]
    assert [(r["name"], r["is_active"]) for r in listed] == [("Power Yoga", False)]
    refused = client.post(
        f"{base}/sessions/",
        {
            "class_type": power["id"],
            "starts_at": (timezone.now() + timedelta(days=3)).isoformat(),
            "duration_minutes": 60,
            "capacity": 12,
            "network_spots": 4,
            "credit_price": 9,
        },
        format="json",
    )
    assert assert_error(refused, 422)["fields"] == {
        "class_type": ["Power Yoga is retired: bring it back on the catalog page first."]
    }
    client.patch(f"{base}/class-types/{power['id']}/", {"is_active": True}, format="json")
    assert ClassType.objects.get(pk=power["id"]).is_active
    # Instructors work alike.
    ana = client.post(f"{base}/instructors/", {"name": "Ana Ruiz"}, format="json").json()
    renamed = client.patch(
        f"{base}/instructors/{ana['id']}/", {"bio": "Ten years of flow."}, format="json"
    )
    assert renamed.json() == {**ana, "bio": "Ten years of flow."}
    assert client.get(f"{base}/instructors/{ana['id']}/").json()["bio"] == "Ten years of flow."
    assert Instructor.objects.get(pk=ana["id"]).studio == studio
    # Each change is in the studio's audit log, as the page's are.
    assert AuditEntry.objects.filter(studio=studio, action="class type").count() == 4
    assert AuditEntry.objects.filter(studio=studio, action="instructor").count() == 2


def test_partner_catalog_is_404_for_other_studios_and_403_for_the_front_desk(studio):
    from studios.models import ClassType

    mine = factories.ClassTypeFactory(studio=studio, name="Barre")
    other_owner = token_for(factories.StaffFactory(role=StaffRole.OWNER).user)
    front_desk = token_for(factories.StaffFactory(studio=studio, role=StaffRole.FRONT_DESK).user)
    base = f"/api/v1/partner/{studio.slug}"
    for path in ("class-types/", f"class-types/{mine.pk}/", "instructors/"):
        assert_error(api(other_owner).get(f"{base}/{path}"), 404)
        assert_error(api(front_desk).get(f"{base}/{path}"), 403)
    assert_error(
        api(other_owner).patch(f"{base}/class-types/{mine.pk}/", {"name": "X"}, format="json"), 404
    )
    # Their own studio's URL does not reach a class type of this one either.
    theirs = factories.StaffFactory(role=StaffRole.OWNER)
    theirs_base = f"/api/v1/partner/{theirs.studio.slug}"
    assert_error(
        api(token_for(theirs.user)).patch(
            f"{theirs_base}/class-types/{mine.pk}/", {"is_active": False}, format="json"
        ),
        404,
    )
    assert ClassType.objects.get(pk=mine.pk).name == "Barre" and mine.is_active


def test_a_login_session_works_across_the_api_as_a_token_does(studio, active_member):
    """The website's own scripts may call the API with the login cookie (and the CSRF token)."""

    def browser(user) -> APIClient:
        client = APIClient(enforce_csrf_checks=True)
        client.force_login(user)
        client.get(reverse("bookings:search"))  # sets the CSRF cookie
        client.credentials(HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value)
        return client

    member = browser(active_member.user)
    session = factories.ClassSessionFactory(studio=studio, network_spots=5)
    full = factories.ClassSessionFactory(studio=studio, network_spots=1, network_booked=1)
    assert member.get("/api/v1/me/").json()["credit_balance"] == active_member.credit_balance
    assert member.get("/api/v1/me/credits/").status_code == 200
    assert member.get(f"/api/v1/sessions/{session.pk}/").json()["offers"][0]["available"]
    booked = member.post("/api/v1/reservations/", {"session": session.pk}, format="json")
    assert booked.status_code == 201
    assert member.get("/api/v1/reservations/").json()["count"] == 1
    assert member.post(f"/api/v1/sessions/{full.pk}/waitlist/").status_code == 201
    assert member.delete(f"/api/v1/sessions/{full.pk}/waitlist/").status_code == 204
    reservation = booked.json()["id"]
    assert member.post(f"/api/v1/reservations/{reservation}/cancel/").status_code == 200

    owner = browser(factories.StaffFactory(studio=studio, role=StaffRole.OWNER).user)
    base = f"/api/v1/partner/{studio.slug}"
    for path in ("sessions/", f"sessions/{session.pk}/roster/", "earnings/", "opportunities/"):
        assert owner.get(f"{base}/{path}").status_code == 200, path
    assert_error(member.get(f"{base}/sessions/"), 404)


def test_a_la_carte_over_the_api_holds_then_pays_once(studio, market):
    PremiumSettings.objects.create(studio=studio, price_cents=3000, max_spots=2)
    session = factories.ClassSessionFactory(studio=studio)
    buyer = factories.MemberFactory(home_market=market)  # an account with no plan
    client = api(token_for(buyer.user))
    held = client.post(
        "/api/v1/reservations/", {"session": session.pk, "offer": "a_la_carte"}, format="json"
    )
    assert held.status_code == 201, held.content
    body = held.json()
    assert (body["status"], body["money_paid_cents"]) == ("held", 3000)
    assert body["hold_expires_at"]
    pay = f"/api/v1/reservations/{body['id']}/pay/"
    assert_error(api(token_for(factories.MemberFactory(home_market=market).user)).post(pay), 404)
    paid = client.post(pay)
    assert paid.status_code == 200 and paid.json()["status"] == "booked"
    assert client.post(pay).json()["status"] == "booked"  # a retry does not charge again
    assert Payment.objects.filter(member=buyer, kind=PaymentKind.A_LA_CARTE).count() == 1


def test_a_declined_card_over_the_api_is_a_402_and_frees_the_spot(studio, market):
    PremiumSettings.objects.create(studio=studio, price_cents=3000, max_spots=2)
    session = factories.ClassSessionFactory(studio=studio)
    buyer = factories.MemberFactory(home_market=market, declines=True)
    client = api(token_for(buyer.user))
    held = client.post(
        "/api/v1/reservations/", {"session": session.pk, "offer": "a_la_carte"}, format="json"
    ).json()
    error = assert_error(client.post(f"/api/v1/reservations/{held['id']}/pay/"), 402)
    assert "declined" in error["message"]
    session.refresh_from_db()
    assert session.premium_booked == 0
    assert not Payment.objects.filter(status=PaymentStatus.SUCCEEDED).exists()


def test_paying_while_the_provider_does_not_answer_is_a_503_to_retry(studio, market, settings):
    PremiumSettings.objects.create(studio=studio, price_cents=3000, max_spots=2)
    session = factories.ClassSessionFactory(studio=studio)
    client = api(token_for(factories.MemberFactory(home_market=market).user))
    held = client.post(
        "/api/v1/reservations/", {"session": session.pk, "offer": "a_la_carte"}, format="json"
    ).json()
    pay = f"/api/v1/reservations/{held['id']}/pay/"
    settings.PAYMENT_PROVIDER = payments.UNREACHABLE
    error = assert_error(client.post(pay), 503, "payment_unavailable")
    assert "You will not be charged twice" in error["message"]
    assert Payment.objects.get().status == PaymentStatus.PENDING  # the try, to ask about again
    settings.PAYMENT_PROVIDER = "members.payments.LocalPaymentProvider"
    assert client.post(pay).json()["status"] == "booked"  # the same request, once it answers
    assert Payment.objects.get().status == PaymentStatus.SUCCEEDED  # that same payment


def test_an_idempotency_key_reused_for_another_offer_is_a_409(studio, active_member):
    PremiumSettings.objects.create(studio=studio, price_cents=3000, max_spots=2)
    session = factories.ClassSessionFactory(studio=studio, capacity=20, network_spots=0)
    client = api(token_for(active_member.user))
    headers = {"HTTP_IDEMPOTENCY_KEY": "k-1"}
    first = client.post(
        "/api/v1/reservations/",
        {"session": session.pk, "offer": "premium"},
        format="json",
        **headers,
    )
    assert first.status_code == 201 and first.json()["kind"] == "premium"
    again = client.post(
        "/api/v1/reservations/",
        {"session": session.pk, "offer": "standard"},
        format="json",
        **headers,
    )
    assert_error(again, 409)
    assert Reservation.objects.filter(member=active_member).count() == 1


def _json_schema(node):
    """An OpenAPI 3.0 schema as JSON Schema: `nullable: true` becomes "or null"."""
    if isinstance(node, list):
        return [_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _json_schema(value) for key, value in node.items() if key != "nullable"}
    return {"anyOf": [out, {"type": "null"}]} if node.get("nullable") else out


def test_every_documented_example_matches_its_schema(client):
    """The docs' examples are what integrators copy; a response example that its own schema
    rejects means one of the two is wrong (the roster was documented as one row, not a list)."""
    from jsonschema import Draft202012Validator

    document = client.get("/api/schema/?format=json").json()
    components = _json_schema(document["components"])
    checked = 0
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for code, response in operation.get("responses", {}).items():
                content = response.get("content", {}).get("application/json", {})
                if "schema" not in content:
                    continue
                schema = {"allOf": [_json_schema(content["schema"])], "components": components}
                validator = Draft202012Validator(schema)
                for name, example in content.get("examples", {}).items():
                    errors = [e.message for e in validator.iter_errors(example["value"])]
                    assert not errors, (method, path, code, name, errors)
                    checked += 1
    assert checked >= 20
