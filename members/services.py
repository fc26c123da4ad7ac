"""Every write about members: sign-up, plans and cycles, the credit ledger, payments.

Lock order (docs/locking.md): a class session row first (bookings), then the member row.
Functions named *_locked expect the caller to hold the member's row lock.
"""

import calendar
import logging
import uuid
from datetime import datetime, timedelta
from importlib import import_module

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core import signing
from django.db import IntegrityError, transaction
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.module_loading import import_string
from knox.models import AuthToken

from classpass import ratelimit
from studios.db import insert, save_fields
from studios.models import Market, StaffMembership, Studio
from studios.templatetags.money import format_credits

from . import emails
from .errors import (
    AccountNotDeletable,
    EmailTaken,
    InvalidLink,
    InvalidPlanState,
    NotEnoughCredits,
    PaymentFailed,
    PaymentUnavailable,
    PlanNotAvailable,
    TooManySignUps,
)
from .models import (
    CreditEntry,
    CreditKind,
    Member,
    Payment,
    PaymentKind,
    PaymentStatus,
    Plan,
    SavedStudio,
    SubscriptionStatus,
    new_calendar_token,
)
from .payments import ProviderResult, get_provider

log = logging.getLogger(__name__)

MIN_ROLLOVER_CAP = 10


def add_months(moment: datetime, months: int) -> datetime:
    """The same day-of-month and time `months` later, clamped to the month's last day."""
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def lock_member(member_id: int, *, skip_locked: bool = False) -> Member | None:
    """Fetch a member row FOR UPDATE. Call inside a transaction.

    With skip_locked, return None instead of waiting when another transaction holds the row.
    """
    member = (
        Member.objects.select_for_update(of=("self",), skip_locked=skip_locked)
        .select_related("user", "plan", "next_plan", "home_market")
        .filter(pk=member_id)
        .first()
    )
    if member is None and not skip_locked:
        raise Member.DoesNotExist(f"No member {member_id}.")
    return member


# --- sign-up -------------------------------------------------------------------------------


def _login_address(email: str) -> str:
    """An e-mail address as accounts store it, also as their log-in name: lower case."""
    return get_user_model().objects.normalize_email(email).strip().lower()


def _address_in_use(email: str, *, other_than: int | None = None) -> bool:
    """Whether another account logs in with, or receives mail at, this address (any case)."""
    users = get_user_model().objects.filter(Q(username__iexact=email) | Q(email__iexact=email))
    return users.exclude(pk=other_than).exists() if other_than else users.exists()


ADDRESS_TAKEN = "An account with this e-mail address already exists. Log in instead."


def count_sign_up(client_address: str) -> None:
    """Count a sign-up from this client address; TooManySignUps past SIGN_UP_IP_THROTTLE. Each
    sign-up e-mails the address it is given, and a refusal says whether an account has it, so
    both are limited per client; the website's form and the API count only valid input."""
    wait = ratelimit.hit([("sign_up_ip", client_address)])
    if wait is not None:
        raise TooManySignUps(
            "Several accounts were signed up from here just now. "
            f"Try again in {ratelimit.in_minutes(wait)}.",
            wait=wait,
        )


def sign_up(
    *, email: str, password: str, market: Market, first_name: str = "", last_name: str = ""
) -> Member:
    """Create a user and their member profile, and e-mail the link that confirms the address
    (confirm_email_change; until then the account page asks for it). Raises EmailTaken if the
    address is in use."""
    User = get_user_model()
    email = _login_address(email)
    if _address_in_use(email):
        raise EmailTaken(ADDRESS_TAKEN)
    try:
        with transaction.atomic():
            user = User.objects.create_user(
                username=email,
                email=email,
                password=password,
                first_name=first_name.strip(),
                last_name=last_name.strip(),
            )
            member = Member.objects.create(user=user, home_market=market)
            emails.record_email_confirmation(
                user, new_email=email, token=_address_link(user, email), welcome=True
            )
            return member
    except IntegrityError as exc:  # a concurrent sign-up with the same address won the race
        raise EmailTaken(ADDRESS_TAKEN) from exc


EMAIL_CHANGE_SALT = "members.email-change"


def email_change_days() -> int:
    """How many days a link that confirms a new address works (as pages and e-mails say it)."""
    return settings.EMAIL_CHANGE_TIMEOUT // (24 * 3600)


NOT_A_LINK = "This link is not valid. Open the whole link from the e-mail."


def change_details(user, *, first_name: str, last_name: str, email: str) -> str | None:
    """Set an account's name (how studios see a member at the front desk) and ask for a new
    address. For members and studio staff alike: the account is the user.

    The name changes at once. The e-mail address is also the log-in name, so a new one changes
    only when its owner follows the link e-mailed to it (confirm_email_change): a mistyped or
    someone else's address never becomes the account's. Raises EmailTaken if another account
    uses the new address, and then changes nothing. Returns the address the link went to, or
    None when the address stays. The caller confirms an address change with the password.
    """
    User = get_user_model()
    email = _login_address(email)
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        new_email = email if email != locked.email else None
        if new_email and _address_in_use(new_email, other_than=locked.pk):
            raise EmailTaken("Another account uses this e-mail address.")
        locked.first_name, locked.last_name = first_name.strip(), last_name.strip()
        locked.save(update_fields=["first_name", "last_name"])
        if new_email:
            emails.record_email_confirmation(
                locked, new_email=new_email, token=_address_link(locked, new_email)
            )
    user.first_name, user.last_name = locked.first_name, locked.last_name
    return new_email


def _address_link(user, email: str) -> str:
    """The token of a link that confirms `email` as the account's address."""
    return signing.dumps(
        {"user": user.pk, "to": email, "state": _address_state(user)},
        salt=EMAIL_CHANGE_SALT,
        compress=True,
    )


def address_confirmed(user) -> bool:
    """Whether the account's address is confirmed: a member followed the link e-mailed to it.
    Studio staff without a member profile were invited at their address, and set their
    password from a link sent there."""
    return not Member.objects.filter(user=user, email_confirmed_at__isnull=True).exists()


def mark_address_confirmed(user) -> None:
    """The account's mailbox is proven (a link e-mailed to it was followed): a member's address
    is confirmed from now, if it was not already."""
    Member.objects.filter(user=user, email_confirmed_at__isnull=True).update(
        email_confirmed_at=timezone.now()
    )


def send_address_link_again(user) -> bool:
    """E-mail a member the link that confirms their address again; False when it is confirmed
    already (nothing is sent)."""
    if address_confirmed(user):
        return False
    emails.record_email_confirmation(
        user, new_email=user.email, token=_address_link(user, user.email), welcome=True
    )
    return True


def _address_state(user) -> str:
    """A digest of what a confirmation link must find unchanged: the address it replaces and
    the password (a reset by the rightful owner ends links asked for before it)."""
    return salted_hmac(
        EMAIL_CHANGE_SALT, f"{user.pk}|{user.email}|{user.password}", algorithm="sha256"
    ).hexdigest()


def email_change_of(token: str) -> tuple[AbstractBaseUser, str]:
    """The account and the new address a confirmation link is for, if it still holds.

    Raises InvalidLink when the link is altered, older than EMAIL_CHANGE_TIMEOUT, or was made
    before the account's address or password last changed, or the account is gone (a deleted
    member's, or one an admin deactivated).
    """
    claim = _email_change_claim(token)
    return _claimed_user(claim), claim["to"]


def confirm_email_change(token: str) -> AbstractBaseUser:
    """Move the account to the address a confirmation link was sent to, and take that address
    as confirmed (the link a new member gets names the address they signed up with, and
    only confirms it); returns the user.

    The old address is told in the same transaction (through the outbox), with the new one, so
    someone who took over a session cannot quietly take over the account. Following the link
    again changes nothing. Raises InvalidLink (see email_change_of) or EmailTaken if another
    account took the address meanwhile.
    """
    claim = _email_change_claim(token)
    taken = EmailTaken("Another account now uses this e-mail address.")
    try:
        with transaction.atomic():
            user = _claimed_user(claim, lock=True)
            mark_address_confirmed(user)  # the sign-up's address, or a new one: proven
            if user.email == claim["to"]:  # the sign-up's link, or one followed before
                return user
            if _address_in_use(claim["to"], other_than=user.pk):
                raise taken
            old_email = user.email
            user.username = user.email = claim["to"]
            user.save(update_fields=["username", "email"])
            emails.record_email_change(user, old_email=old_email, new_email=user.email)
    except IntegrityError as exc:  # a concurrent sign-up or change took the address first
        raise taken from exc
    return user


def _email_change_claim(token: str) -> dict:
    try:
        return signing.loads(token, salt=EMAIL_CHANGE_SALT, max_age=settings.EMAIL_CHANGE_TIMEOUT)
    except signing.SignatureExpired as exc:
        raise InvalidLink("This link has expired. Log in to ask for a new one.") from exc
    except signing.BadSignature as exc:
        raise InvalidLink(NOT_A_LINK) from exc


def _claimed_user(claim: dict, *, lock: bool = False) -> AbstractBaseUser:
    """The account a confirmation link names (locked if asked), if the link still holds."""
    users = get_user_model().objects.select_for_update() if lock else get_user_model().objects
    user = users.filter(pk=claim.get("user"), is_active=True).first()
    if user is None:  # deleting a member's account deactivates it
        raise InvalidLink(NOT_A_LINK)
    if user.email != claim["to"] and _address_state(user) != claim["state"]:
        raise InvalidLink(
            "This link was sent before the account's e-mail address or password last changed. "
            "Ask for the change again on My details."
        )
    return user


# --- the credit ledger ---------------------------------------------------------------------


def post_credits_locked(
    member: Member,
    *,
    kind: str,
    amount: int,
    reference: str | None = None,
    note: str = "",
    by: AbstractBaseUser | None = None,
) -> CreditEntry:
    """Append one ledger entry and move the cached balance with it. Hold the member's lock.

    Raises NotEnoughCredits when the balance would drop below zero; writes nothing then.
    """
    if amount == 0:
        raise ValueError("A ledger entry moves at least one credit.")
    new_balance = member.credit_balance + amount
    if new_balance < 0:
        raise NotEnoughCredits(
            f"That needs {format_credits(-amount)}, but the balance is {member.credit_balance}."
        )
    entry = insert(
        CreditEntry(
            member=member,
            kind=kind,
            amount=amount,
            balance_after=new_balance,
            reference=reference,
            note=note,
            created_by=by,
        )
    )
    member.credit_balance = new_balance
    save_fields(member, "credit_balance")
    return entry


def adjust_credits(
    member: Member, *, amount: int, note: str, by: AbstractBaseUser | None = None
) -> CreditEntry:
    """An admin's correction, as a new ledger entry. Refuses to take the balance below zero."""
    if amount == 0:
        raise NotEnoughCredits("An adjustment must add or remove at least one credit.")
    if not note.strip():
        raise InvalidPlanState("Say why the credits are adjusted; the member sees this note.")
    with transaction.atomic(durable=True):
        locked = lock_member(member.pk)
        if locked.credit_balance + amount < 0:
            raise NotEnoughCredits(
                f"Removing {format_credits(-amount)} would take the balance below zero "
                f"(it is {locked.credit_balance})."
            )
        entry = post_credits_locked(
            locked, kind=CreditKind.ADJUSTMENT, amount=amount, note=note.strip(), by=by
        )
    member.credit_balance = locked.credit_balance
    return entry


def grant_cycle_credits_locked(member: Member) -> list[CreditEntry]:
    """Grant the current cycle's credits, expiring what exceeds the rollover cap. Idempotent.

    Rollover keeps unused credits up to the new cycle's plan credits (at least 10); the rest
    expire as a ledger entry. Hold the member's lock; member.plan is the new cycle's plan.
    """
    cycle_key = f"{member.subscription_key}:{member.cycle_number}"
    grant_ref = f"cycle:{cycle_key}"
    if CreditEntry.objects.filter(member=member, reference=grant_ref).exists():
        return []
    entries = []
    cap = max(member.plan.credits_per_cycle, MIN_ROLLOVER_CAP)
    if member.credit_balance > cap:
        entries.append(
            post_credits_locked(
                member,
                kind=CreditKind.EXPIRY,
                amount=cap - member.credit_balance,
                reference=f"expiry:{cycle_key}",
                note=f"Unused credits above the rollover limit of {cap} expired.",
            )
        )
    local_start = timezone.localtime(member.cycle_started_at, member.home_market.tzinfo)
    entries.append(
        post_credits_locked(
            member,
            kind=CreditKind.GRANT,
            amount=member.plan.credits_per_cycle,
            reference=grant_ref,
            # The date as the member's city sees it, in the product's style (not UTC's day).
            note=f"{member.plan.name}: cycle from {local_start:%a %-d %b %Y}.",
        )
    )
    return entries


# --- payments ------------------------------------------------------------------------------


UNANSWERED = "The payment service did not answer."
# A payment the provider did not answer is asked again (settle_pending_payments) for this
# long; after that it is recorded as failed, for support to follow up.
ASK_AGAIN_FOR = timedelta(hours=24)
GAVE_UP = "The payment service did not answer for a day."


def _record_answer(payment: Payment, result: ProviderResult | None) -> None:
    """Set a payment's fields from the provider's answer; None: it did not answer (pending)."""
    if result is None:
        payment.status = PaymentStatus.PENDING
        payment.provider_reference, payment.failure_reason = "", UNANSWERED
    else:
        payment.status = PaymentStatus.SUCCEEDED if result.ok else PaymentStatus.FAILED
        payment.provider_reference = result.provider_reference
        payment.failure_reason = "" if result.ok else result.failure_reason


def charge(
    member: Member,
    *,
    kind: str,
    amount_cents: int,
    currency: str,
    reference: str,
    description: str,
    ask_again_later: bool = False,
) -> Payment:
    """Take money through the payment provider, once per reference. Raises PaymentFailed.

    When the provider does not answer (it raises), raises PaymentUnavailable and records
    nothing, so the caller's transaction rolls back and the request can be tried again. With
    `ask_again_later` (a fee, paying a held spot, starting a plan) it records the payment as
    pending instead and returns it: the next call with the same reference, or
    settle_pending_payments, asks the provider again with it, its idempotency key.
    """
    existing = Payment.objects.filter(reference=reference).first()
    if existing is None:
        existing = Payment(
            member=member,
            kind=kind,
            amount_cents=amount_cents,
            currency=currency,
            provider=get_provider().name,
            reference=reference,
            description=description,
        )
        result = _ask(existing)
        if result is None and not ask_again_later:
            raise PaymentUnavailable(
                f"{UNANSWERED} Nothing was charged; please try again in a moment."
            )
        _record_answer(existing, result)
        existing.save(force_insert=True)
    elif existing.status == PaymentStatus.PENDING:  # sent again after a lost answer: ask again
        existing = _ask_again(existing.pk, skip_locked=False)
        if existing.status == PaymentStatus.PENDING and not ask_again_later:
            raise PaymentUnavailable(f"{UNANSWERED} Please try again in a moment.")
    if existing.status == PaymentStatus.FAILED:
        raise PaymentFailed(
            f"The payment did not go through: {existing.failure_reason or 'declined'}"
        )
    return existing


def refund(
    payment: Payment, *, amount_cents: int | None = None, reference: str, description: str = ""
) -> Payment | None:
    """Give back all or part of a successful payment, once per reference.

    Never more than is left of it: what was refunded before (by support, say) is taken off
    the amount asked for; with nothing left, nothing is refunded (None). The payment's row is
    locked, so two refunds of it at once add up to at most what was paid.
    """
    existing = Payment.objects.filter(reference=reference).first()
    if existing is not None:
        return existing
    if amount_cents is not None and amount_cents <= 0:
        raise ValueError("A refund gives back at least 1 cent.")
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        left = payment.amount_cents - refunded_cents(payment)
        amount = left if amount_cents is None else min(amount_cents, left)
        if amount <= 0:
            return None
        return _refund_locked(payment, amount, reference=reference, description=description)


def refunded_cents(payment: Payment) -> int:
    """What was given back from this payment so far, or is on its way: a refund the provider
    has not answered yet counts, as it may have gone through, so nothing is given twice."""
    total = payment.refunds.exclude(status=PaymentStatus.FAILED).aggregate(
        total=Sum("amount_cents")
    )["total"]
    return -(total or 0)


def refund_by_support(
    payment_id: int, *, amount_cents: int, reason: str, refunded_before_cents: int, by=None
) -> Payment:
    """A support agent gives back part or all of a payment, with a reason the member sees.

    `refunded_before_cents` is what the agent saw refunded already: if it changed meanwhile
    (a double submit, another agent, the engine), nothing is refunded and they look again.
    """
    if not reason.strip():
        raise InvalidPlanState("Say why the money is given back; the member sees it.")
    with transaction.atomic(durable=True):
        payment = Payment.objects.select_for_update().get(pk=payment_id)
        if payment.kind == PaymentKind.REFUND or payment.status != PaymentStatus.SUCCEEDED:
            raise InvalidPlanState("Only a payment that went through can be refunded.")
        before = refunded_cents(payment)
        if before != refunded_before_cents:
            raise InvalidPlanState(
                "This payment was refunded meanwhile; check what is left and try again."
            )
        left = payment.amount_cents - before
        if not 0 < amount_cents <= left:
            raise InvalidPlanState(
                f"A refund of this payment is between 0.01 and {left / 100:.2f} {payment.currency}."
            )
        number = payment.refunds.count() + 1
        return _refund_locked(
            payment,
            amount_cents,
            reference=f"support-refund:{payment.pk}:{number}",
            description=f"Refund: {reason.strip()}",
        )


def _refund_locked(payment: Payment, amount: int, *, reference: str, description: str) -> Payment:
    """Ask the provider for a refund and record it. What asked for the refund (a cancellation,
    say) stands whatever the answer: a refused refund is recorded as failed, for support to
    make from the payment's page in admin; one the provider did not answer is recorded as
    pending, and settle_pending_payments asks again."""
    made = Payment(
        member=payment.member,
        kind=PaymentKind.REFUND,
        amount_cents=-amount,
        currency=payment.currency,
        provider=get_provider().name,
        reference=reference,
        description=description or f"Refund of {payment.description}",
        refund_of=payment,
    )
    _record_answer(made, _ask(made))
    made.save(force_insert=True)
    return made


def settle_pending_payments(*, now: datetime | None = None) -> dict[str, int]:
    """Ask the provider again about every payment it did not answer at once (refunds, fees,
    tries at paying a held spot or starting a plan). Idempotent.

    Each is asked with its own reference, the provider's idempotency key: one that went
    through before the answer was lost is answered again, not made twice. One still not
    answered after ASK_AGAIN_FOR is recorded as failed, for support. The member is e-mailed
    how a refund ended. Rows are locked and skipped while another run holds them, so runs at
    once never ask twice; an error on one payment is logged and the rest go on.
    """
    now = now or timezone.now()
    counts = {"succeeded": 0, "failed": 0, "pending": 0}
    pending = list(
        Payment.objects.filter(status=PaymentStatus.PENDING)
        .order_by("created_at", "pk")
        .values_list("pk", flat=True)
    )
    for pk in pending:
        try:
            outcome = _settle(pk, now=now)
        except Exception:
            log.exception("Settling payment %s failed; the next run tries again.", pk)
            outcome = "pending"
        if outcome:
            counts[outcome] += 1
    return counts


def _settle(pk: int, *, now: datetime) -> str:
    with transaction.atomic():
        payment = _ask_again(pk, skip_locked=True, give_up_by=now - ASK_AGAIN_FOR)
        if payment is None or payment.status == PaymentStatus.PENDING:
            return "pending" if payment else ""  # no answer yet; or settled, or being asked
        if payment.kind == PaymentKind.REFUND:
            emails.record_refund_settled(payment)
        elif payment.status == PaymentStatus.SUCCEEDED:
            for path in settings.PAYMENT_SETTLED_HOOKS:  # in this transaction, the row locked
                import_string(path)(payment)
        return payment.status


def _ask_again(pk: int, *, skip_locked: bool, give_up_by: datetime | None = None) -> Payment | None:
    """Ask the provider again about a pending payment, by its reference, under its row lock,
    and record the answer; one asked before `give_up_by` that still gets none is recorded as
    failed. Returns the payment, or None when it is no longer pending (or, with
    `skip_locked`, someone else is asking). Runs in the caller's transaction."""
    payment = (
        Payment.objects.select_for_update(skip_locked=skip_locked, of=("self",))
        .select_related("member__user", "refund_of")
        .filter(pk=pk, status=PaymentStatus.PENDING)
        .first()
    )
    if payment is None:
        return None if skip_locked else Payment.objects.get(pk=pk)
    result = _ask(payment)
    if result is None:
        if give_up_by is None or payment.created_at > give_up_by:
            return payment
        result = ProviderResult(ok=False, failure_reason=GAVE_UP)
    _record_answer(payment, result)
    payment.answered_late_at = timezone.now()
    payment.save(
        update_fields=["status", "provider_reference", "failure_reason", "answered_late_at"]
    )
    return payment


def _ask(payment: Payment) -> ProviderResult | None:
    """Send a payment (saved or not yet) to the provider, by its reference; None when the
    provider does not answer (it raises)."""
    provider = get_provider()
    try:
        if payment.kind == PaymentKind.REFUND:
            return provider.refund(
                provider_reference=payment.refund_of.provider_reference,
                amount_cents=-payment.amount_cents,
                currency=payment.currency,
                reference=payment.reference,
            )
        return provider.charge(
            email=payment.member.user.email,
            amount_cents=payment.amount_cents,
            currency=payment.currency,
            description=payment.description,
            reference=payment.reference,
        )
    except Exception:
        log.exception("The payment service did not answer about %s", payment.reference)
        return None


# --- plans and cycles ----------------------------------------------------------------------


def _start_cycle_locked(member: Member, *, plan: Plan, now: datetime, event: str) -> Payment:
    """Charge the plan and start a fresh cycle anchored at `now`, then grant its credits.

    Each start is a new subscription with its own key; its cycles' payments and grants are
    referenced by (key, cycle number), so renewals are idempotent and never collide with an
    earlier subscription of the same member. A try the provider did not answer keeps its key:
    the next try of the same price sends the same reference, so a charge whose answer was lost
    is found, not made twice. Returns the payment; a pending one started nothing, and the
    caller tells the member to try again once its transaction has kept the try.
    """
    earlier = _unused_plan_charge(member, plan)
    if earlier is not None and earlier.status == PaymentStatus.PENDING:
        return earlier  # asked about just before (_ask_about_plan_tries): still no answer
    subscription_key = earlier.reference.split(":")[2] if earlier else uuid.uuid4().hex[:12]
    payment = charge(
        member,
        kind=PaymentKind.PLAN,
        amount_cents=plan.price_cents,
        currency=plan.currency,
        reference=f"plan:{member.pk}:{subscription_key}:0",
        description=f"{plan.name} plan, first cycle",
        ask_again_later=True,
    )
    if payment.status == PaymentStatus.PENDING:
        return payment
    member.plan = plan
    member.next_plan = None
    member.status = SubscriptionStatus.ACTIVE
    member.cycle_anchor = now
    member.cycle_started_at = now
    member.cycle_number = 0
    member.subscription_key = subscription_key
    member.next_renewal_at = add_months(now, 1)
    member.save(
        update_fields=[
            "subscription_key",
            "plan",
            "next_plan",
            "status",
            "cycle_anchor",
            "cycle_started_at",
            "cycle_number",
            "next_renewal_at",
        ]
    )
    _record_cycle_email(member, event, payment, grant_cycle_credits_locked(member))
    return payment


PLAN_NOT_STARTED = (
    f"{UNANSWERED} Your plan has not started yet: please try again in a moment."
    " You will not be charged twice."
)


def _unused_plan_charge(member: Member, plan: Plan) -> Payment | None:
    """The member's latest first-cycle plan charge of this price that no subscription started
    with and nothing was given back from: a try still pending, or one answered yes late."""
    tries = (
        Payment.objects.filter(
            member=member,
            kind=PaymentKind.PLAN,
            status__in=[PaymentStatus.PENDING, PaymentStatus.SUCCEEDED],
            amount_cents=plan.price_cents,
            currency=plan.currency,
            reference__endswith=":0",
        )
        .filter(Q(status=PaymentStatus.PENDING) | Q(answered_late_at__isnull=False))
        .exclude(refunds__isnull=False)
        .order_by("-created_at", "-pk")
    )
    for payment in tries[:5]:
        if not _plan_started_with(payment):
            return payment
    return None


def _plan_cycle_of(payment: Payment) -> tuple[str, int]:
    """The subscription key and cycle number a plan charge pays for ("plan:<member>:<key>:<n>")."""
    _, _, key, cycle = payment.reference.split(":")
    return key, int(cycle)


def _plan_started_with(payment: Payment) -> bool:
    """Whether the cycle the charge pays for was granted (started with it)."""
    key, cycle = _plan_cycle_of(payment)
    return CreditEntry.objects.filter(
        member_id=payment.member_id, reference=f"cycle:{key}:{cycle}"
    ).exists()


def _renewal_reference(member: Member) -> str:
    """The reference of the charge for the member's next cycle (one per cycle, ever)."""
    return f"plan:{member.pk}:{member.subscription_key}:{member.cycle_number + 1}"


def _renewal_still_due(member: Member, payment: Payment) -> bool:
    """Whether the charge is the member's renewal that the next renewal run starts with."""
    active = member.status == SubscriptionStatus.ACTIVE
    return active and payment.reference == _renewal_reference(member)


def _ask_about_plan_tries(member: Member) -> None:
    """Before a plan starts: ask the provider again about the member's pending tries, each
    in a transaction of its own, so that a refusal is kept even if the start then fails."""
    for pk in Payment.objects.filter(
        member=member, kind=PaymentKind.PLAN, status=PaymentStatus.PENDING
    ).values_list("pk", flat=True):
        with transaction.atomic():
            _ask_again(pk, skip_locked=True)


def refund_unused_plan_charges() -> int:
    """Give back each plan charge the provider answered yes to only late, once no cycle can
    start with it: a first try the member did not try again (or chose another price), or a
    renewal of a plan the member paused or cancelled meanwhile. A renewal still due is left to
    the next renewal run, which starts the cycle with it. Under the member's row lock, so a
    start using that charge at the same moment either wins or finds it given back.
    """
    refunded = 0
    late = (
        Payment.objects.filter(
            kind=PaymentKind.PLAN,
            answered_late_at__isnull=False,  # the index payment_plan_answered_late
            status=PaymentStatus.SUCCEEDED,
        )
        .exclude(refunds__isnull=False)
        .values_list("pk", "member_id")
    )
    for pk, member_id in late:
        with transaction.atomic():
            member = lock_member(member_id)
            payment = Payment.objects.get(pk=pk)
            if _plan_started_with(payment) or _renewal_still_due(member, payment):
                continue
            first = _plan_cycle_of(payment)[1] == 0
            made = refund(
                payment,
                reference=f"refund:{payment.reference}",
                description=(
                    f"{payment.description}: the plan did not "
                    f"{'start' if first else 'renew'} with it"
                ),
            )
            if made is not None:
                emails.record_refund_settled(made)
                refunded += 1
    return refunded


def _record_cycle_email(
    member: Member, event: str, payment: Payment, entries: list[CreditEntry]
) -> None:
    """The receipt of a cycle that just started: what was charged, granted and expired."""
    emails.record(
        member,
        event,
        payment=payment,
        plan=member.plan.name,
        granted=sum(e.amount for e in entries if e.kind == CreditKind.GRANT),
        expired=-sum(e.amount for e in entries if e.kind == CreditKind.EXPIRY),
        balance=member.credit_balance,
        next_renewal=member.next_renewal_at.isoformat(),
    )


def _check_plan_for(member: Member, plan: Plan) -> None:
    if plan.market_id != member.home_market_id:
        raise PlanNotAvailable(f"The {plan.name} plan is not offered in {member.home_market.name}.")
    if not plan.is_active:
        raise PlanNotAvailable(f"The {plan.name} plan is no longer offered.")


def choose_plan(member: Member, plan: Plan, *, now: datetime | None = None) -> Member:
    """Subscribe a member without an active plan: charge the first cycle and grant its credits."""
    now = now or timezone.now()
    _check_plan_for(member, plan)
    _ask_about_plan_tries(member)
    with transaction.atomic(durable=True):
        locked = lock_member(member.pk)
        if locked.status == SubscriptionStatus.ACTIVE:
            raise InvalidPlanState(
                "You already have an active plan; change it from your account page."
            )
        if locked.status == SubscriptionStatus.PAUSED:
            raise InvalidPlanState("Your plan is paused; resume it from your account page.")
        payment = _start_cycle_locked(locked, plan=plan, now=now, event="started")
    if payment.status == PaymentStatus.PENDING:  # the try is kept, to ask about again
        raise PaymentUnavailable(PLAN_NOT_STARTED)
    member.refresh_from_db()
    return locked


def change_plan(member: Member, plan: Plan) -> Member:
    """Switch plans from the next renewal on (the current cycle is already paid for)."""
    _check_plan_for(member, plan)
    with transaction.atomic(durable=True):
        locked = lock_member(member.pk)
        if locked.status != SubscriptionStatus.ACTIVE:
            raise InvalidPlanState("Only an active plan can be changed; choose a plan instead.")
        renewal = Payment.objects.filter(reference=_renewal_reference(locked))
        if renewal.exclude(status=PaymentStatus.FAILED).exists():
            # The renewal in flight (unanswered, or answered to the settle sweep only) was
            # charged for the plan as it was: the next run starts the cycle with that charge,
            # so the plan it is for must not change under it.
            raise InvalidPlanState(
                "Your renewal is being charged right now; change your plan once it has gone "
                "through."
            )
        locked.next_plan = None if plan.pk == locked.plan_id else plan
        locked.save(update_fields=["next_plan"])
    member.refresh_from_db()
    return locked


def pick_plan(member: Member, plan: Plan, *, now: datetime | None = None) -> str:
    """What choosing `plan` on the plan page (or the API) does: a member without an active plan
    starts it now, charged now ("started"); an active plan switches to it from the next
    renewal ("changed"). Each service checks the member's state again under its lock."""
    if member.has_active_plan:
        change_plan(member, plan)
        return "changed"
    choose_plan(member, plan, now=now)
    return "started"


def pause(member: Member) -> Member:
    """Stop renewals. Credits are kept, but a paused member cannot book until they resume."""
    with transaction.atomic(durable=True):
        locked = lock_member(member.pk)
        if locked.status != SubscriptionStatus.ACTIVE:
            raise InvalidPlanState("Only an active plan can be paused.")
        locked.status = SubscriptionStatus.PAUSED
        locked.next_renewal_at = None
        locked.save(update_fields=["status", "next_renewal_at"])
    member.refresh_from_db()
    return locked


def resume(member: Member, *, now: datetime | None = None) -> Member:
    """Restart a paused plan: a new cycle starts now, charged and granted (with rollover)."""
    now = now or timezone.now()
    _ask_about_plan_tries(member)
    with transaction.atomic(durable=True):
        locked = lock_member(member.pk)
        if locked.status != SubscriptionStatus.PAUSED:
            raise InvalidPlanState("Only a paused plan can be resumed.")
        plan = locked.next_plan or locked.plan
        _check_plan_for(locked, plan)
        payment = _start_cycle_locked(locked, plan=plan, now=now, event="resumed")
    if payment.status == PaymentStatus.PENDING:  # the try is kept, to ask about again
        raise PaymentUnavailable(PLAN_NOT_STARTED)
    member.refresh_from_db()
    return locked


def cancel_plan(member: Member, *, now: datetime | None = None) -> Member:
    """End the subscription. Unused credits are forfeited, as a ledger entry."""
    with transaction.atomic(durable=True):
        locked = lock_member(member.pk)
        if not locked.has_plan:
            raise InvalidPlanState("There is no plan to cancel.")
        forfeited = _end_plan_locked(locked, note="Plan cancelled: unused credits forfeited.")
        emails.record(locked, "cancelled", plan=locked.plan.name, forfeited=forfeited)
    member.refresh_from_db()
    return locked


def _end_plan_locked(member: Member, *, note: str) -> int:
    """Forfeit the balance (a ledger entry) and stop renewals; returns the credits forfeited."""
    forfeited = member.credit_balance
    if forfeited:
        post_credits_locked(member, kind=CreditKind.FORFEIT, amount=-forfeited, note=note)
    if member.status != SubscriptionStatus.NONE:
        member.status = SubscriptionStatus.CANCELLED
    member.next_plan = None
    member.next_renewal_at = None
    member.save(update_fields=["status", "next_plan", "next_renewal_at"])
    return forfeited


def set_class_reminders(member: Member, *, enabled: bool) -> None:
    """Whether the member is e-mailed a reminder before each class they booked."""
    Member.objects.filter(pk=member.pk).update(class_reminders=enabled)
    member.class_reminders = enabled


def new_calendar_address(member: Member) -> None:
    """Give the member's calendar feed a new secret address; the old one stops working (for a
    link that was shared or leaked)."""
    member.calendar_token = new_calendar_token()
    Member.objects.filter(pk=member.pk).update(calendar_token=member.calendar_token)


def save_studio(member: Member, studio: Studio, *, saved: bool) -> None:
    """Keep a studio among the member's studios, or take it out. Saying it twice is harmless,
    also at the same moment (the unique constraint keeps one row)."""
    if saved:
        SavedStudio.objects.bulk_create(
            [SavedStudio(member=member, studio=studio)], ignore_conflicts=True
        )
    else:
        SavedStudio.objects.filter(member=member, studio=studio).delete()


def delete_account(member: Member, *, now: datetime | None = None) -> None:
    """Close a member's account for good, at their request.

    What identifies them goes: their name and e-mail address (replaced by a placeholder, which
    frees the address for a new sign-up), their password and every log-in session, API tokens,
    the calendar address and the studios they saved. What the marketplace must keep stays,
    tied to the anonymous profile: the credit ledger (the balance is forfeited, as an entry),
    payments and past reservations, on which studios' payouts and the books rest. Refused while
    they staff a studio, and while another app says so (settings.MEMBER_DELETION_HOOKS, run
    under the member's lock: bookings refuses while classes are booked, and takes them off
    waitlists).
    """
    now = now or timezone.now()
    with transaction.atomic(durable=True):
        locked = lock_member(member.pk)
        if locked.deleted_at is not None:
            raise AccountNotDeletable("This account is already deleted.")
        teams = list(
            StaffMembership.objects.filter(user_id=locked.user_id).values_list(
                "studio__name", flat=True
            )
        )
        if teams:
            raise AccountNotDeletable(
                f"You are on the team of {', '.join(teams)}: an owner removes you there first."
            )
        for path in settings.MEMBER_DELETION_HOOKS:
            import_string(path)(locked, now=now)
        _end_plan_locked(locked, note="Account deleted: unused credits forfeited.")
        user = locked.user
        user.username = user.email = f"deleted-{user.pk}@deleted.invalid"
        user.first_name = user.last_name = ""
        user.is_active = False
        user.set_unusable_password()  # also ends every session: their hash no longer matches
        user.save()
        AuthToken.objects.filter(user=user).delete()
        SavedStudio.objects.filter(member=locked).delete()
        locked.calendar_token = new_calendar_token()
        locked.deleted_at = now
        locked.save(update_fields=["calendar_token", "deleted_at"])
    member.refresh_from_db()


def renew(member_id: int, *, now: datetime | None = None) -> bool:
    """Renew one member whose cycle has ended: charge, switch to next_plan, grant with rollover.

    Safe to run twice: a member not yet due is left alone. A declined renewal pauses the plan.
    One the provider does not answer is kept as a pending payment and the member left due, so
    the next run asks about the same charge. Returns True when a new cycle started.
    """
    now = now or timezone.now()
    with transaction.atomic(durable=True):
        member = lock_member(member_id)
        if member.status != SubscriptionStatus.ACTIVE or member.next_renewal_at > now:
            return False
        plan = member.next_plan or member.plan
        cycle_start = member.next_renewal_at
        reference = _renewal_reference(member)
        try:
            payment = charge(
                member,
                kind=PaymentKind.PLAN,
                amount_cents=plan.price_cents,
                currency=plan.currency,
                reference=reference,
                description=f"{plan.name} plan, renewal",
                # Kept as pending when the provider does not answer: it may have charged. The
                # next run asks about it again; if the plan ends before that, the settle sweep
                # hears the answer and refund_unused_plan_charges gives a charge back.
                ask_again_later=True,
            )
        except PaymentFailed:
            member.status = SubscriptionStatus.PAUSED
            member.next_renewal_at = None
            member.save(update_fields=["status", "next_renewal_at"])
            emails.record(
                member,
                "renewal_declined",
                payment=Payment.objects.get(reference=reference),
                plan=plan.name,
                balance=member.credit_balance,
            )
            return False
        if payment.status == PaymentStatus.PENDING:
            log.warning("Renewal of member %s is not answered yet; asked again later.", member_id)
            return False
        member.plan = plan
        member.next_plan = None
        member.cycle_number += 1
        member.cycle_started_at = cycle_start
        member.next_renewal_at = add_months(member.cycle_anchor, member.cycle_number + 1)
        member.save(
            update_fields=[
                "plan",
                "next_plan",
                "cycle_number",
                "cycle_started_at",
                "next_renewal_at",
            ]
        )
        _record_cycle_email(member, "renewed", payment, grant_cycle_credits_locked(member))
    return True


def renew_due_cycles(*, now: datetime | None = None) -> int:
    """Renew every member whose cycle ended by `now`, catching up missed cycles. Idempotent.

    A renewal that fails with an error rather than a decline (the payment provider out of
    reach, say) is rolled back, logged and left for the next run; the sweep goes on with the
    other members, so one member's failure never holds back everyone due after them.
    """
    now = now or timezone.now()
    renewed = 0
    left: set[int] = set()  # failed, or not answered: for the next run
    while (
        due := list(  # batches of due members until none is left
            Member.objects.filter(status=SubscriptionStatus.ACTIVE, next_renewal_at__lte=now)
            .exclude(pk__in=left)
            .order_by("next_renewal_at", "pk")
            .values_list("pk", flat=True)[:500]
        )
    ):
        for pk in due:
            try:
                if renew(pk, now=now):
                    renewed += 1
                else:
                    left.add(pk)
            except Exception:
                log.exception("Renewal of member %s failed; the next run tries again.", pk)
                left.add(pk)
    return renewed


def renew_due_cycles_for(member: Member, *, now: datetime | None = None) -> int:
    """Renew one member as many cycles as have ended by `now` (catching up after downtime)."""
    now = now or timezone.now()
    renewed = 0
    while renew(member.pk, now=now):
        renewed += 1
    return renewed


# --- housekeeping -----------------------------------------------------------------------------


def prune_login_records() -> int:
    """Delete what signing in leaves behind once it is of no use: expired sessions (as Django's
    clearsessions does) and django-axes' access logs older than LOGIN_RECORDS_KEEP_DAYS (a
    lock-out is judged on its own attempt rows, not on these). Returns the logs deleted."""
    from axes.handlers.proxy import AxesProxyHandler

    import_module(settings.SESSION_ENGINE).SessionStore.clear_expired()
    return AxesProxyHandler.reset_logs(age_days=settings.LOGIN_RECORDS_KEEP_DAYS)


# --- personal API tokens (hashed at rest by django-rest-knox; shown once) ---------------------


def create_api_token(user):
    """A new token for the API; returns (record, token). Only a digest is stored."""
    return AuthToken.objects.create(user)


def revoke_api_token(user, token_key: str) -> bool:
    return AuthToken.objects.filter(user=user, token_key=token_key).delete()[0] > 0
