"""E-mails about reservations, HTML and text, with times in the studio's timezone."""

import logging

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

log = logging.getLogger(__name__)

SUBJECTS = {
    "booked": "You're booked: {class_name} at {studio}",
    "promoted": "A spot opened up: you're booked into {class_name}",
    "cancelled": "Cancelled: {class_name} at {studio}",
    "late_cancelled": "Late cancellation: {class_name} at {studio}",
    "missed": "Marked as missed: {class_name} at {studio}",
    "session_cancelled": "{studio} cancelled {class_name}: your credits are back",
    "reminder": "Starting soon: {class_name} at {studio}, {time}",
    "hold_refunded": "Your payment for {class_name} at {studio} is given back",
    "mark_undone": "No-show mark taken back: {class_name} at {studio}",
    "fee_refunded": "Your fee for {class_name} at {studio} is given back",
}


def send_on_commit(reservation_id: int, event: str) -> None:
    """After the commit, through the outbox: the member's e-mail and the studio's webhooks."""
    from studios import outbox

    outbox.publish("bookings.emails.reservation_event", reservation_id, event)


def send_email_on_commit(reservation_id: int, event: str, fee_id: int | None = None) -> None:
    """After the commit, through the outbox: the member's e-mail only, for what concerns the
    member alone (not a reservation event the studio's webhooks hear of). `fee_id` names the
    fee payment an e-mail about giving a fee back is about."""
    from studios import outbox

    args = (reservation_id, event) if fee_id is None else (reservation_id, event, fee_id)
    outbox.publish("bookings.emails.send_reservation_email", *args)


def reservation_event(reservation_id: int, event: str) -> None:
    """The outbox handler of a reservation event (the booking writes one message, whatever the
    fan-out): queues the member's e-mail and each webhook delivery as messages of their own, in
    one transaction, so that one that cannot go out never holds back the others, and a retry
    of this handler never queues anything twice."""
    from studios import outbox

    from . import webhooks

    with transaction.atomic():
        outbox.publish("bookings.emails.send_reservation_email", reservation_id, event)
        webhooks.fan_out(reservation_id, event)


def _fee(reservation, event: str):
    """The fee payment of a late cancellation or a no-show, if one was attempted: the e-mail
    says whether it was charged or declined, not what the market's fee would be."""
    from members.models import Payment, PaymentKind

    kind = {"late_cancelled": PaymentKind.LATE_CANCEL_FEE, "missed": PaymentKind.MISSED_CLASS_FEE}
    if event not in kind:
        return None
    return Payment.objects.filter(reference=reservation.ref(kind[event])).first()


def _refund(reservation, event: str):
    """The refund of the money paid, if one was made: the e-mail says whether it went
    through, not only that one is due."""
    from members.models import Payment

    if event not in ("cancelled", "session_cancelled", "hold_refunded"):
        return None
    if not reservation.money_paid_cents:
        return None
    return Payment.objects.filter(reference=reservation.refund_ref).first()


def _fee_refund(reservation, event: str, fee):
    """The refund of a fee: the late-cancel fee given back when the studio cancelled the class
    afterwards, or the fee named by the message (a no-show mark undone, a fee answered late)."""
    from members.models import Payment

    if fee is not None:
        return fee.refunds.filter(reference__startswith="fee-refund:").first()
    if event != "session_cancelled" or reservation.status != "late_cancelled":
        return None
    return Payment.objects.filter(reference=reservation.ref("fee-refund")).first()


def _free_cancellation_until(session):
    """When cancelling stops being free, if that is still ahead (in the studio's timezone)."""
    until = session.free_cancel_until
    if until <= timezone.now():
        return None
    return timezone.localtime(until, session.studio.market.tzinfo)


def send_reservation_email(reservation_id: int, event: str, fee_id: int | None = None) -> bool:
    from members.models import Payment

    from .models import Reservation

    reservation = (
        Reservation.objects.select_related(
            "member__user", "session__studio__market", "session__class_type", "session__instructor"
        )
        .filter(pk=reservation_id)
        .first()
    )
    if reservation is None or event not in SUBJECTS:
        return False
    if event == "reminder" and reservation.status != "booked":
        return False  # cancelled since: nothing to remind of
    session = reservation.session
    market = session.studio.market
    named_fee = None if fee_id is None else Payment.objects.filter(pk=fee_id).first()
    context = {
        "reservation": reservation,
        "first_name": reservation.member.user.first_name,
        "session": session,
        "studio": session.studio,
        "market": market,
        "event": event,
        "local_start": timezone.localtime(session.starts_at, market.tzinfo),
        "fee": named_fee or _fee(reservation, event),
        "refund": _refund(reservation, event),
        "fee_refund": _fee_refund(reservation, event, named_fee),
        "free_until": _free_cancellation_until(session),
        "site_url": settings.SITE_URL,
    }
    subject = SUBJECTS[event].format(
        class_name=session.class_type.name,
        studio=session.studio.name,
        time=f"{context['local_start']:%H:%M}",
    )
    # One line whatever the names hold: a line break in a header makes sending fail, and the
    # outbox would retry this message (and the webhooks behind it) until it gave up.
    subject = " ".join(subject.split())
    with timezone.override(market.tzinfo):  # every time shown in the studio's timezone
        text = render_to_string(f"bookings/email/{event}.txt", context)
        html = render_to_string("bookings/email/reservation.html", context)
    message = EmailMultiAlternatives(subject, text, to=[reservation.member.user.email])
    message.attach_alternative(html, "text/html")
    message.send()
    return True
