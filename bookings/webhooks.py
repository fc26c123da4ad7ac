"""Reservation events for studios' own software: signed POSTs, retried by the outbox.

Each event becomes one outbox message per subscription, so a slow or failing endpoint is retried
on its own (with back-off, up to the outbox's attempts) and never delays a booking. The body is
JSON; the header X-Classpass-Signature is "sha256=" + HMAC-SHA256(secret, body) in hex.

Delivery is at least once: an endpoint that took an event but answered too late gets it again.
Each delivery has an id, chosen when the event is queued and the same on every retry (the
body's "id", signed with it, and the header X-Classpass-Delivery), so the endpoint can tell a
retry from a new event.
"""

import hashlib
import hmac
import ipaddress
import json
import secrets
import socket
import urllib.parse
import uuid

from django.conf import settings
from django.utils import timezone
from requests_hardened import Config, Manager

from studios import outbox

from .models import Reservation, WebhookSubscription

TIMEOUT = 5


def _client() -> Manager:
    """requests-hardened checks the address it connects to, at the moment it connects: a name
    that resolved to a public address for allowed() cannot then connect into this network
    (DNS rebinding). A redirect is the endpoint's answer, not a hop to follow: it would lead to
    an address nothing checked."""
    return Manager(
        Config(
            ip_filter_enable=True,
            ip_filter_allow_loopback_ips=settings.WEBHOOK_DELIVERY == "loopback",
            never_redirect=True,
            default_timeout=(TIMEOUT, TIMEOUT),
            user_agent_override="classpass-webhooks/1",
        )
    )


def new_secret() -> str:
    return secrets.token_hex(32)


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def fan_out(reservation_id: int, event: str) -> int:
    """Queue a delivery of this event to each active subscription of the studio."""
    studio_id = (
        Reservation.objects.filter(pk=reservation_id).values_list("studio_id", flat=True).first()
    )
    ids = list(
        WebhookSubscription.objects.filter(studio_id=studio_id, is_active=True).values_list(
            "pk", flat=True
        )
    )
    for subscription_id in ids:
        delivery = str(uuid.uuid4())  # one id for every attempt of this delivery
        outbox.publish(
            "bookings.webhooks.deliver", subscription_id, event, reservation_id, delivery
        )
    return len(ids)


def payload(reservation: Reservation, event: str, delivery: str) -> dict:
    return {
        "id": delivery,
        "event": f"reservation.{event}",
        "sent_at": timezone.now().isoformat(),
        "reservation": {
            "id": reservation.pk,
            "session": reservation.session_id,
            "starts_at": reservation.starts_at.isoformat(),
            "status": reservation.status,
            "kind": reservation.kind,
            "shown_as": "Premium" if reservation.shows_as_premium else "Standard",
            "source": reservation.source,
            "member": reservation.member.display_name,
        },
    }


def allowed(url: str) -> bool:
    """Where deliveries may go (settings.WEBHOOK_DELIVERY).

    "public": only public addresses, never this network's own (no SSRF into private ranges).
    "loopback" (development and tests): only this machine, by literal address, never resolved.
    """
    host = (urllib.parse.urlsplit(url).hostname or "").strip("[]")
    if settings.WEBHOOK_DELIVERY == "loopback":
        try:
            return host == "localhost" or ipaddress.ip_address(host).is_loopback
        except ValueError:
            return False
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except OSError:
        return False
    return bool(addresses) and all(
        ipaddress.ip_address(a.split("%")[0]).is_global for a in addresses
    )


def deliver(
    subscription_id: int, event: str, reservation_id: int, delivery: str | None = None
) -> int:
    """POST one event; raises on a failure so the outbox retries it. `delivery` is the id
    that fan_out chose (messages queued before deliveries had ids get a new one)."""
    delivery = delivery or str(uuid.uuid4())
    subscription = WebhookSubscription.objects.filter(pk=subscription_id, is_active=True).first()
    reservation = (
        Reservation.objects.select_related("member__user").filter(pk=reservation_id).first()
    )
    if subscription is None or reservation is None:
        return 0  # unsubscribed or gone meanwhile: nothing to send
    if not allowed(subscription.url):
        raise PermissionError(f"Deliveries to {subscription.url} are not allowed here.")
    body = json.dumps(payload(reservation, event, delivery), separators=(",", ":")).encode()
    response = _client().send_request(
        "POST",
        subscription.url,
        data=body,
        headers={
            "Content-Type": "application/json",
            "X-Classpass-Event": f"reservation.{event}",
            "X-Classpass-Delivery": delivery,
            "X-Classpass-Signature": sign(subscription.secret, body),
        },
    )
    if not 200 <= response.status_code < 300:
        raise RuntimeError(f"{subscription.url} answered {response.status_code}")
    return response.status_code
