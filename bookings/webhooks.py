"""Reservation events for studios' own software: signed POSTs, retried by the outbox.

Each event becomes one outbox message per subscription, so a slow or failing endpoint is retried
on its own (with back-off, up to the outbox's attempts) and never delays a booking. The body is
JSON; the header X-Classpass-Signature is "sha256=" + HMAC-SHA256(secret, body) in hex.
"""

import hashlib
import hmac
import ipaddress
import json
import secrets
import socket
import urllib.error
import urllib.parse
import urllib.request
import uuid

from django.conf import settings
from django.utils import timezone

from . import outbox
from .models import Reservation, WebhookSubscription

TIMEOUT = 5


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is the endpoint's answer, not a hop: following it would send the request to
    an address `allowed()` never saw (a public endpoint redirecting into this network)."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None  # urllib then raises HTTPError(3xx): a failed delivery, retried


_opener = urllib.request.build_opener(_NoRedirects)


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
        outbox.publish("bookings.webhooks.deliver", subscription_id, event, reservation_id)
    return len(ids)


def payload(reservation: Reservation, event: str) -> dict:
    return {
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
            "member": reservation.member.user.get_full_name() or reservation.member.user.email,
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


def deliver(subscription_id: int, event: str, reservation_id: int) -> int:
    """POST one event; raises on a failure so the outbox retries it."""
    subscription = WebhookSubscription.objects.filter(pk=subscription_id, is_active=True).first()
    reservation = (
        Reservation.objects.select_related("member__user").filter(pk=reservation_id).first()
    )
    if subscription is None or reservation is None:
        return 0  # unsubscribed or gone meanwhile: nothing to send
    if not allowed(subscription.url):
        raise PermissionError(f"Deliveries to {subscription.url} are not allowed here.")
    body = json.dumps(payload(reservation, event), separators=(",", ":")).encode()
    request = urllib.request.Request(
        subscription.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "classpass-webhooks/1",
            "X-Classpass-Event": f"reservation.{event}",
            "X-Classpass-Delivery": str(uuid.uuid4()),
            "X-Classpass-Signature": sign(subscription.secret, body),
        },
    )
    try:
        with _opener.open(request, timeout=TIMEOUT) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        raise RuntimeError(f"{subscription.url} answered {exc.code}") from exc
