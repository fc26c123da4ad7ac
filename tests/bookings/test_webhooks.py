"""Studio webhooks: signed reservation events, retried until the endpoint takes them."""

import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.urls import reverse

from bookings import outbox, services, webhooks
from bookings.models import OutboxMessage, WebhookSubscription
from members import services as members_services
from studios.models import StaffRole
from tests import factories

pytestmark = pytest.mark.django_db


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

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hooks", received
    server.shutdown()


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
    outbox.relay()  # the member's e-mail, and one delivery queued per subscription
    outbox.relay()  # the delivery: the endpoint answers 503 the first time
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
