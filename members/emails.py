"""E-mails about a member's plan (its start, each renewal, a declined renewal, a resume and a
cancellation), their address, and refunds made or settled by a sweep (what became of a refund
the payment service answered late; a plan charge given back because no plan started with it).

The services record them in the outbox with the change (studios.outbox), so a member is told
exactly when the change committed, once, also if the mail server was down at the time. What
the e-mail states (credits granted, expired, forfeited; the balance) is written down with the
message when the change happens: it is a receipt of that moment, not of when it is sent.
"""

from datetime import datetime

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import timezone

SUBJECTS = {
    "started": "Welcome to classpass: your {plan} plan has started",
    "resumed": "Your {plan} plan is running again",
    "renewed": "Your {plan} plan has renewed",
    "renewal_declined": "Your {plan} plan is paused: the renewal payment was declined",
    "cancelled": "Your {plan} plan is cancelled",
}


def record(member, event: str, *, payment=None, **figures) -> None:
    """Queue the e-mail of a plan event in the caller's transaction (it is sent after commit)."""
    from studios import outbox

    if event not in SUBJECTS:
        raise ValueError(f"No plan e-mail is called {event!r}.")
    outbox.publish(
        "members.emails.send_plan_email",
        member.pk,
        event,
        payment.pk if payment is not None else None,
        figures,
    )


def send_plan_email(member_id: int, event: str, payment_id: int | None, figures: dict) -> bool:
    """The outbox handler: render and send one plan e-mail; False when there is nothing to send."""
    from .models import Member, Payment

    member = Member.objects.select_related("user", "home_market").filter(pk=member_id).first()
    if member is None or member.deleted_at or event not in SUBJECTS or not member.user.email:
        return False
    market = member.home_market
    payment = Payment.objects.filter(pk=payment_id).first() if payment_id else None
    context = {
        "member": member,
        "first_name": member.user.first_name,
        "market": market,
        "event": event,
        "payment": payment,
        "plan": figures.get("plan", ""),
        "granted": figures.get("granted", 0),
        "expired": figures.get("expired", 0),
        "forfeited": figures.get("forfeited", 0),
        "balance": figures.get("balance", 0),
        "next_renewal": _moment(figures.get("next_renewal")),
        "site_url": settings.SITE_URL.rstrip("/"),
    }
    # One line whatever the plan's name holds: a line break in a header makes sending fail.
    subject = " ".join(SUBJECTS[event].format(plan=context["plan"]).split())
    context["subject"] = subject
    with timezone.override(market.tzinfo):  # dates as the member's market tells them
        text = render_to_string(f"members/email/{event}.txt", context)
        html = render_to_string("members/email/plan.html", context)
    message = EmailMultiAlternatives(subject, text, to=[member.user.email])
    message.attach_alternative(html, "text/html")
    message.send()
    return True


def record_refund_settled(payment) -> None:
    """Queue the e-mail that tells how a refund made by a sweep ended (sent once it is no
    longer pending)."""
    from studios import outbox

    outbox.publish("members.emails.send_refund_settled", payment.pk)


def send_refund_settled(payment_id: int) -> bool:
    """The outbox handler: a pending refund went through, or support will make it."""
    from .models import Payment, PaymentKind, PaymentStatus

    refund = (
        Payment.objects.select_related("member__user")
        .filter(pk=payment_id, kind=PaymentKind.REFUND)
        .exclude(status=PaymentStatus.PENDING)
        .first()
    )
    if refund is None or refund.member.deleted_at or not refund.member.user.email:
        return False
    context = {
        "refund": refund,
        "first_name": refund.member.user.first_name,
        "amount": -refund.amount_cents,
        "site_url": settings.SITE_URL.rstrip("/"),
        "support_email": settings.SUPPORT_EMAIL,
    }
    subject = (
        "Your classpass refund has gone through"
        if refund.status == PaymentStatus.SUCCEEDED
        else "Your classpass refund: our support team will make it"
    )
    text = render_to_string("members/email/refund_settled.txt", context)
    EmailMultiAlternatives(subject, text, to=[refund.member.user.email]).send()
    return True


def _moment(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def record_email_change(user, *, old_email: str, new_email: str) -> None:
    """Queue the notice to the old address, in the caller's transaction."""
    from studios import outbox

    outbox.publish("members.emails.send_email_changed", user.pk, old_email, new_email)


def record_email_confirmation(user, *, new_email: str, token: str, welcome: bool = False) -> None:
    """Queue the link that confirms an address, in the caller's transaction: a new address, or
    (`welcome`) the one a member signed up with."""
    from studios import outbox

    outbox.publish("members.emails.send_email_confirmation", user.pk, new_email, token, welcome)


def send_email_confirmation(
    user_id: int, new_email: str, token: str, welcome: bool = False
) -> bool:
    """The outbox handler: send an address the link that makes it, or confirms it as, the
    account's."""
    from django.contrib.auth import get_user_model
    from django.urls import reverse

    from . import services  # services queue these e-mails: imported here, not at the top

    user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        return False  # the account was deleted (or deactivated) before the e-mail went out
    if welcome and (user.email != new_email or services.address_confirmed(user)):
        return False  # confirmed meanwhile, or another address since: the link is of no use
    context = {
        "new_email": new_email,
        "link": settings.SITE_URL.rstrip("/") + reverse("members:confirm_email", args=[token]),
        "days": services.email_change_days(),
        "support_email": settings.SUPPORT_EMAIL,
    }
    template, subject = (
        ("confirm_address", "Welcome to classpass: confirm your e-mail address")
        if welcome
        else ("confirm_email", "Confirm your new classpass e-mail address")
    )
    text = render_to_string(f"members/email/{template}.txt", context)
    EmailMultiAlternatives(subject, text, to=[new_email]).send()
    return True


def send_email_changed(user_id: int, old_email: str, new_email: str) -> bool:
    """The outbox handler: tell the old address that the account now uses another one."""
    context = {"new_email": new_email, "support_email": settings.SUPPORT_EMAIL}
    text = render_to_string("members/email/email_changed.txt", context)
    message = EmailMultiAlternatives(
        "Your classpass e-mail address was changed", text, to=[old_email]
    )
    message.send()
    return True
