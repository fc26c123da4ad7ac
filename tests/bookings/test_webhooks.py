"""Studio webhooks: signed reservation events, retried until the endpoint takes them."""

import hashlib
import hmac
import json
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.urls import reverse

from bookings import services, webhooks
from bookings.models import WebhookSubscription
from members import services as members_services
from studios import outbox
from studios.models import OutboxMessage, StaffRole
from tests import factories

pytestmark = pytest.mark.django_db


@contextmanager
def serving(handler: type[BaseHTTPRequestHandler]):
    """A local HTTP endpoint for the block's length; yields its port."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def book_and_deliver(url: str, studio, member, session) -> None:
    """Subscribe the studio to url, book, and run the outbox once."""
    WebhookSubscription.objects.create(studio=studio, url=url, secret=webhooks.new_secret())
    services.book(member, session.pk)
    outbox.relay()


@pytest.fixture
def receiver():
    """A tiny HTTP endpoint on loopback that fails its first call, then records the rest."""
    received, failures = [], [1]

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if failures[0]:
                failures[0] -= 1
                self.send_response(503)
                self.end_headers()
                return
            received.append((dict(self.headers), body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    with serving(Handler) as port:
        yield f"http://127.0.0.1:{port}/hooks", received


def test_subscribe_by_api_and_receive_signed_events_with_retries(
    studio, active_member, session, receiver
):
    url, received = receiver
    _, token = members_services.create_api_token(
        factories.StaffFactory(studio=studio, role=StaffRole.MANAGER).user
    )
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    created = client.post(
        f"/api/v1/partner/{studio.slug}/webhooks/", {"url": url}, format="json"
    ).json()
    secret = created["secret"]
    assert (
        "secret" not in client.get(f"/api/v1/partner/{studio.slug}/webhooks/").json()["results"][0]
    )

    reservation = services.book(active_member, session.pk)
    outbox.relay()  # the event queues the e-mail and one delivery per subscription, and runs
    # them: the endpoint answers 503 the first time
    assert received == []
    failed = OutboxMessage.objects.get(handler="bookings.webhooks.deliver")
    assert failed.attempts == 1 and "503" in failed.last_error
    OutboxMessage.objects.filter(pk=failed.pk).update(
        available_at=failed.created_at
    )  # back-off elapsed
    outbox.relay()
    assert len(received) == 1
    headers, body = received[0]
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    assert headers["X-Classpass-Signature"] == expected
    event = json.loads(body)
    assert event["event"] == "reservation.booked" and event["reservation"]["id"] == reservation.pk
    assert (
        client.delete(f"/api/v1/partner/{studio.slug}/webhooks/{created['id']}/").status_code == 204
    )
    assert not WebhookSubscription.objects.filter(is_active=True).exists()


def test_a_retried_delivery_keeps_its_id_and_a_new_event_gets_another(
    studio, active_member, session
):
    attempts = []  # (delivery header, body id, event) of every attempt, the failed ones too

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            attempts.append((self.headers["X-Classpass-Delivery"], body["id"], body["event"]))
            self.send_response(503 if len(attempts) == 1 else 204)  # took it, answered badly
            self.end_headers()

        def log_message(self, *args):
            pass

    with serving(Handler) as port:
        book_and_deliver(f"http://127.0.0.1:{port}/hooks", studio, active_member, session)
        OutboxMessage.objects.filter(done_at__isnull=True).update(available_at="2000-01-01T00:00Z")
        outbox.relay()
        services.cancel(active_member.reservations.get().pk)
        outbox.relay()
    (first, first_body, booked), (again, again_body, _), (other, _, cancelled) = attempts
    assert (booked, cancelled) == ("reservation.booked", "reservation.cancelled")
    assert first == first_body == again == again_body
    assert other != first


def test_deliveries_only_go_where_allowed(settings):
    settings.WEBHOOK_DELIVERY = "loopback"
    assert webhooks.allowed("http://127.0.0.1:9/x") and webhooks.allowed("http://[::1]/x")
    assert not webhooks.allowed("http://10.0.0.1/x") and not webhooks.allowed(
        "https://example.com/x"
    )
    settings.WEBHOOK_DELIVERY = "public"
    assert not webhooks.allowed("http://127.0.0.1/x") and not webhooks.allowed(
        "http://192.168.1.5/x"
    )


def test_front_desk_cannot_manage_webhooks(client, studio):
    front = factories.StaffFactory(studio=studio, role=StaffRole.FRONT_DESK).user
    client.force_login(front)
    assert client.get(f"/api/v1/partner/{studio.slug}/webhooks/").status_code == 403
    assert reverse("api-partner-webhooks", args=[studio.slug])


def test_an_email_that_cannot_go_out_does_not_hold_back_the_webhooks(
    studio, active_member, session, receiver, settings
):
    from django.core import mail

    url, received = receiver
    _, token = members_services.create_api_token(
        factories.StaffFactory(studio=studio, role=StaffRole.MANAGER).user
    )
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    client.post(f"/api/v1/partner/{studio.slug}/webhooks/", {"url": url}, format="json")
    # A mail server that refuses connections: nothing listens on port 1.
    working = settings.MAILERS
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": 1, "timeout": 2},
        }
    }
    services.book(active_member, session.pk)

    def due_again():  # the back-off has elapsed
        OutboxMessage.objects.filter(done_at__isnull=True).update(available_at=session.created_at)

    outbox.relay()  # the event queues both; the e-mail fails, the endpoint answers 503
    due_again()
    outbox.relay()
    assert len(received) == 1  # the studio has its event while the e-mail still waits
    email = OutboxMessage.objects.get(handler="bookings.emails.send_reservation_email")
    assert email.done_at is None and email.attempts == 2
    settings.MAILERS = working  # the mail server is back
    due_again()
    outbox.relay()
    assert len(mail.outbox) == 1 and len(received) == 1  # each sent once
    assert not OutboxMessage.objects.filter(done_at__isnull=True).exists()


def test_a_delivery_does_not_follow_a_redirect(studio, active_member, session):
    """A public endpoint could redirect into this network, where allowed() never looked."""
    hits = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            hits.append(("POST", self.path))
            self.send_response(302)
            self.send_header("Location", "/internal")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_GET(self):
            hits.append(("GET", self.path))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    with serving(Handler) as port:
        book_and_deliver(f"http://127.0.0.1:{port}/hooks", studio, active_member, session)
    assert hits == [("POST", "/hooks")]
    failed = OutboxMessage.objects.get(handler="bookings.webhooks.deliver")
    assert failed.done_at is None and "302" in failed.last_error


def test_a_name_that_resolves_into_this_network_when_connecting_is_refused(
    settings, monkeypatch, studio, active_member, session
):
    """DNS rebinding: the host's first answer (for allowed()) is public, the next one, when the
    delivery connects, is this machine. The address is checked as it is connected to."""
    import socket

    hits = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            hits.append(self.path)
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    real = socket.getaddrinfo
    answers = {"count": 0}

    def rebinding(host, port, *args, **kwargs):
        if host != "rebind.example":
            return real(host, port, *args, **kwargs)
        answers["count"] += 1
        address = "93.184.215.14" if answers["count"] == 1 else "127.0.0.1"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port or 0))]

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    settings.WEBHOOK_DELIVERY = "public"
    with serving(Handler) as port:
        book_and_deliver(f"http://rebind.example:{port}/hooks", studio, active_member, session)
    assert answers["count"] >= 2 and hits == []
    failed = OutboxMessage.objects.get(handler="bookings.webhooks.deliver")
    assert failed.done_at is None and "127.0.0.1" in failed.last_error
