"""The booking engine: every reservation, cancellation, waitlist move and attendance mark.

Locks (docs/locking.md): the class session row first, then member rows in primary-key order.
Functions named *_locked expect the caller to hold those locks inside its transaction.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from members import services as members_services
from members.errors import AccountNotDeletable, PaymentFailed, PaymentUnavailable
from members.models import (
    CreditKind,
    Member,
    Payment,
    PaymentKind,
    PaymentStatus,
    SubscriptionStatus,
)
from studios import outbox
from studios import services as studios_services
from studios.db import batched, insert, take_id
from studios.models import ClassSession, EarningEntry, EarningKind, SessionStatus
from studios.templatetags.money import format_credits, format_money

from . import emails, sql
from .errors import (
    AlreadyBooked,
    BookingError,
    HoldExpired,
    IdempotencyConflict,
    LateCancelNotConfirmed,
    NoActivePlan,
    NotBookable,
    NotCancellable,
    OfferNotAvailable,
    PaymentDeclined,
    PriceChanged,
    SessionNotFound,
    SoldOut,
    WaitlistError,
)
from .models import (
    LIVE_STATUSES,
    Counter,
    Reservation,
    ReservationKind,
    ReservationStatus,
    Source,
    WaitlistEntry,
    WaitlistStatus,
)
from .offers import ALREADY_BOOKED, BookingContext, collect_offers, standard_refusal

log = logging.getLogger(__name__)

CHECK_IN_OPENS = timedelta(hours=1)


# --- reading under the locks ---------------------------------------------------------------


def lock_session(session_id: int) -> ClassSession:
    """Fetch a class session FOR UPDATE with what the engine reads. Raises SessionNotFound."""
    try:
        session = sql.fetch_session(int(session_id), lock=True)
    except (ValueError, TypeError, OverflowError):
        session = None
    if session is None:
        raise SessionNotFound("That class does not exist.")
    return session


def _lock_reservation(reservation_id: int, *, member: Member | None):
    """Lock a reservation's session, then its member, then the row itself (the engine's order).

    With `member`, someone else's reservation is "not found".
    """
    found = (
        Reservation.objects.filter(pk=reservation_id).values_list("session_id", "member_id").first()
    )
    if found is None or (member is not None and found[1] != member.pk):
        raise SessionNotFound("That reservation does not exist.")
    session = lock_session(found[0])
    locked_member = members_services.lock_member(found[1])
    return session, locked_member, Reservation.objects.select_for_update().get(pk=reservation_id)


def booking_opens_at(session: ClassSession) -> datetime:
    """Booking opens N days ahead at the market's opening time, studio-local."""
    market = session.studio.market
    local_day = timezone.localtime(session.starts_at, market.tzinfo).date()
    opens_day = local_day - timedelta(days=market.booking_window_days)
    return studios_services.local_to_utc(opens_day, market.booking_opens_at, market.tzinfo)


def booking_closes_at(session: ClassSession) -> datetime:
    return session.starts_at - timedelta(minutes=session.studio.booking_cutoff_minutes)


def class_label(session: ClassSession) -> str:
    """How ledgers name a class: "Flow at Studio, Fri 27 Nov 18:30" (studio-local), so that a
    member tells two bookings of the same class apart."""
    local = timezone.localtime(session.starts_at, session.studio.market.tzinfo)
    return f"{session.class_type.name} at {session.studio.name}, {local:%a %-d %b %H:%M}"


def refund_note(session: ClassSession, why: str) -> str:
    return f"{class_label(session)}: {why}, credits returned."


def check_bookable(session: ClassSession, now: datetime) -> None:
    """Raise NotBookable unless the class can be booked at `now`."""
    if session.status != SessionStatus.SCHEDULED:
        raise NotBookable("This class was cancelled by the studio.")
    if now >= session.starts_at:
        raise NotBookable("This class has already started.")
    if now >= booking_closes_at(session):
        raise NotBookable(
            f"Booking closed {session.studio.booking_cutoff_minutes} minutes before the class."
        )
    opens = booking_opens_at(session)
    if now < opens:
        local = timezone.localtime(opens, session.studio.market.tzinfo)
        raise NotBookable(f"Booking for this class opens {local:%a %-d %b at %H:%M}.")


def _context(session: ClassSession, member: Member, now: datetime) -> BookingContext:
    """A context from a member row fetched by sql.fetch_member_context."""
    return BookingContext(
        session=session,
        member=member,
        now=now,
        standard_visits_in_cycle=member.cycle_visits,
        already_booked=member.booked_here,
        waiting=member.waiting_here,
    )


def booking_context(session: ClassSession, member: Member | None, now: datetime) -> BookingContext:
    """What offers depend on, read without locks (for pages). One query."""
    if member is None:
        return BookingContext(session=session, member=None, now=now)
    return _context(session, sql.fetch_member_context(session, member.pk), now)


# --- booking -------------------------------------------------------------------------------


def book(
    member: Member,
    session_id: int,
    *,
    offer_kind: str = ReservationKind.STANDARD,
    source: str = Source.WEB,
    idempotency_key: str | None = None,
    expected_credits: int | None = None,
    expected_money_cents: int | None = None,
    now: datetime | None = None,
) -> Reservation:
    """Reserve one spot. Locks the session row, then the member row. Raises BookingError.

    With an idempotency key, a replay returns the first reservation and writes nothing; the
    same key for another class raises IdempotencyConflict.
    """
    now = now or timezone.now()
    if idempotency_key:
        replay = _replay(member, idempotency_key, session_id)
        if replay is not None:
            return replay
    try:
        with transaction.atomic(durable=True):
            session, reservation_id = _lock_session_and_member(session_id, member.pk)
            locked = sql.fetch_member_context(session, member.pk)  # read under the lock
            reservation = book_locked(
                session,
                locked,
                reservation_id=reservation_id,
                offer_kind=offer_kind,
                source=source,
                idempotency_key=idempotency_key,
                expected_credits=expected_credits,
                expected_money_cents=expected_money_cents,
                now=now,
            )
    except IntegrityError:
        # Only the database guards can get here: a concurrent replay of the same key, or a
        # second live reservation for the same class.
        if idempotency_key and (replay := _replay(member, idempotency_key, session_id)):
            return replay
        raise AlreadyBooked(ALREADY_BOOKED) from None
    member.credit_balance = locked.credit_balance
    return reservation


def _lock_session_and_member(session_id, member_id: int) -> tuple[ClassSession, int | None]:
    """Lock the class session, then the member, in one statement (docs/locking.md); also
    returns an id taken for the reservation where the database has sequences."""
    try:
        locked = sql.lock_for_booking(int(session_id), member_id)
    except (ValueError, TypeError, OverflowError):
        raise SessionNotFound("That class does not exist.") from None
    if locked is None:  # which row is missing?
        lock_session(session_id)
        raise NoActivePlan("This account has no member profile.")
    return locked


def _replay(member: Member, key: str, session_id) -> Reservation | None:
    first = Reservation.objects.filter(member=member, idempotency_key=key).first()
    if first is not None and str(first.session_id) != str(session_id):
        raise IdempotencyConflict("This idempotency key was already used for another class.")
    return first


def book_locked(
    session: ClassSession,
    member: Member,
    *,
    offer_kind: str,
    source: str,
    idempotency_key: str | None = None,
    expected_credits: int | None = None,
    expected_money_cents: int | None = None,
    reservation_id: int | None = None,
    now: datetime,
) -> Reservation:
    """Check the chosen offer and write the booking. Hold the session and member locks.

    Every check comes before the first write, so a refusal leaves nothing behind. `member`
    carries the context when the caller read it with sql.fetch_member_context after locking;
    `reservation_id` an id the caller took for the reservation (else one is taken here).
    The spot, the reservation, its ledger entry, the balance and the outbox row are written
    in one statement on PostgreSQL (studios.db.batched), so the ledger entry and the outbox
    row need the reservation's id before it is written.
    """
    check_bookable(session, now)
    if not hasattr(member, "cycle_visits"):
        member = sql.fetch_member_context(session, member.pk)
    ctx = _context(session, member, now)
    if ctx.already_booked:
        raise AlreadyBooked(ALREADY_BOOKED)
    offer = next((o for o in collect_offers(ctx) if o.kind == offer_kind), None)
    if offer is None:
        raise OfferNotAvailable("That way of booking is not offered for this class.")
    if not offer.available:
        raise offer.refuse()
    if expected_credits is not None and expected_credits != offer.credits:
        raise PriceChanged(
            f"This class now costs {format_credits(offer.credits)}, not {expected_credits}. "
            "Please confirm again."
        )
    if expected_money_cents is not None and expected_money_cents != offer.money_cents:
        raise PriceChanged("The price of this class changed. Please confirm again.")
    # An offer paid in money holds the spot while the payment completes (pay_hold).
    held = offer.money_cents > 0
    with batched():
        _occupy_locked(session, offer.counter)
        reservation = insert(
            Reservation(
                pk=reservation_id or take_id(Reservation),
                status=ReservationStatus.HELD if held else ReservationStatus.BOOKED,
                hold_expires_at=now + settings.BOOKING_HOLD if held else None,
                member=member,
                session=session,
                studio_id=session.studio_id,
                starts_at=session.starts_at,
                kind=offer.kind,
                premium_reason=offer.premium_reason,
                counter=offer.counter,
                credits_spent=offer.credits,
                money_paid_cents=offer.money_cents,
                currency=offer.currency,
                studio_payout_cents=offer.studio_payout_cents,
                source=source,
                idempotency_key=idempotency_key,
            )
        )
        if offer.credits:
            members_services.post_credits_locked(
                member,
                kind=CreditKind.BOOKING,
                amount=-offer.credits,
                reference=f"reservation:{reservation.pk}",
                note=class_label(session),
            )
        if not held:
            event = "promoted" if source == Source.WAITLIST else "booked"
            emails.send_on_commit(reservation.pk, event)
    if ctx.waiting:
        WaitlistEntry.objects.filter(
            session=session, member=member, status=WaitlistStatus.WAITING
        ).update(status=WaitlistStatus.PROMOTED, reservation=reservation, updated_at=now)
    return reservation


# --- paying for a held spot ----------------------------------------------------------------


def pay_hold(
    reservation_id: int, *, member: Member | None = None, now: datetime | None = None
) -> Reservation:
    """Charge a held reservation through the payment provider and confirm it, once.

    A second confirmation returns the booked reservation without charging again. A hold that
    expired, or a payment that fails, frees the spot and raises. A payment the provider does
    not answer is recorded as pending and the spot stays held (PaymentUnavailable): paying
    again asks about the same charge, by its reference, so nothing is charged twice.
    """
    now = now or timezone.now()
    with transaction.atomic(durable=True):
        session, locked_member, reservation = _lock_reservation(reservation_id, member=member)
        if reservation.status == ReservationStatus.BOOKED and reservation.payment_id:
            return reservation  # a double confirmation: already paid
        if reservation.status != ReservationStatus.HELD:
            if session.status == SessionStatus.CANCELLED:
                raise HoldExpired(
                    f"This class was cancelled by the studio; {_not_charged(reservation)}."
                )
            raise HoldExpired(
                f"This hold has ended; {_not_charged(reservation)}. Book again if spots are left."
            )
        if now >= reservation.hold_expires_at:
            _release_hold_locked(session, reservation, now)
            failed = HoldExpired(
                f"Your 10-minute hold expired; {_not_charged(reservation)}."
                " Book again if spots are left."
            )
        else:
            try:
                payment = members_services.charge(
                    locked_member,
                    kind=PaymentKind.A_LA_CARTE,
                    amount_cents=reservation.money_paid_cents,
                    currency=reservation.currency,
                    reference=reservation.ref("a_la_carte"),
                    description=class_label(session),
                    ask_again_later=True,
                )
            except PaymentFailed as exc:
                _release_hold_locked(session, reservation, now)
                failed = PaymentDeclined(
                    f"{exc.message} The spot was released; you were not charged."
                )
            else:
                reservation.payment = payment
                if payment.status == PaymentStatus.PENDING:
                    # No answer: the spot stays held and the payment is recorded as pending,
                    # so paying again asks about the same charge; one answered yes later confirms
                    # the spot, or is given back if the hold ended (settle_late_payments).
                    reservation.save(update_fields=["payment"])
                    failed = PaymentUnavailable(
                        f"{members_services.UNANSWERED} Your spot is still held: please try"
                        " again in a moment. You will not be charged twice."
                    )
                else:
                    reservation.status = ReservationStatus.BOOKED
                    reservation.hold_expires_at = None
                    reservation.save(update_fields=["status", "payment", "hold_expires_at"])
                    emails.send_on_commit(reservation.pk, "booked")
                    return reservation
    raise failed  # after the commit: the released spot, or the pending payment, stays recorded


def _not_charged(reservation: Reservation) -> str:
    if reservation.payment_id:  # an earlier try was not answered
        return "if the payment went through after all, it is given back automatically"
    return "you were not charged"


def hold_is_open(reservation: Reservation, now: datetime) -> bool:
    """Whether a held spot can still be paid for (pay_hold decides again under the locks)."""
    return reservation.status == ReservationStatus.HELD and now < reservation.hold_expires_at


def _release_hold_locked(session: ClassSession, reservation: Reservation, now: datetime) -> None:
    if session.status != SessionStatus.CANCELLED:  # cancelling a class zeroes its counters
        _release_locked(session, reservation.counter)
    reservation.status = ReservationStatus.EXPIRED
    reservation.cancelled_at = now
    reservation.save(update_fields=["status", "cancelled_at"])


def expire_holds(*, now: datetime | None = None) -> int:
    """Free every spot whose payment hold ran out; one transaction per hold. Idempotent."""
    now = now or timezone.now()
    expired = 0
    due = Reservation.objects.filter(status=ReservationStatus.HELD, hold_expires_at__lte=now)
    for reservation_id in due.values_list("pk", flat=True)[:1000]:
        with transaction.atomic(durable=True):
            session, _, reservation = _lock_reservation(reservation_id, member=None)
            if reservation.status == ReservationStatus.HELD and reservation.hold_expires_at <= now:
                _release_hold_locked(session, reservation, now)
                expired += 1
    return expired


def settle_late_payments(*, now: datetime | None = None, batch: int = 500) -> dict[str, int]:
    """Act on each à-la-carte payment the provider answered yes to only late (asked again by
    members.services.settle_pending_payments after it did not answer at once): the spot is
    confirmed if it is still held, and the money given back if the hold has ended (it ran out,
    or the member or the studio let it go). Idempotent: a payment with any refund is left
    alone, refund() never gives back more than is left, and pay_hold confirms once."""
    now = now or timezone.now()
    late = (
        Reservation.objects.filter(
            status__in=[
                ReservationStatus.HELD,
                ReservationStatus.EXPIRED,
                ReservationStatus.CANCELLED,
            ],
            hold_expires_at__isnull=False,  # never confirmed: confirming clears it
            payment__isnull=False,  # with the two above: the index reservation_late_payment
            payment__status=PaymentStatus.SUCCEEDED,
        )
        .exclude(Exists(Payment.objects.filter(refund_of=OuterRef("payment_id"))))
        .select_related("payment", "session__class_type", "session__studio")
        .order_by("pk")
    )
    done = {"confirmed": 0, "refunded": 0}
    for reservation in late[:batch]:
        if reservation.status == ReservationStatus.HELD:
            try:
                pay_hold(reservation.pk, now=now)  # finds the payment made: no new charge
            except BookingError:  # the hold ran out meanwhile: released, so give it back
                pass
            else:
                done["confirmed"] += 1
                continue
        with transaction.atomic():
            made = members_services.refund(
                reservation.payment,
                amount_cents=reservation.money_paid_cents,
                reference=reservation.refund_ref,
                description=f"{class_label(reservation.session)}: paid after the hold ended",
            )
            if made is not None:
                emails.send_email_on_commit(reservation.pk, "hold_refunded")
                done["refunded"] += 1
    return done


def _occupy_locked(session: ClassSession, counter: str) -> None:
    """Take one spot of the room on `counter`; the WHERE clause re-checks the room."""
    # Unreachable while the lock is held: a guard, raised when the batch is sent.
    sql.occupy(session.pk, counter, NotBookable("This class just sold out."))
    if counter == Counter.NETWORK:
        session.network_booked += 1
    else:
        session.premium_booked += 1


def _release_locked(session: ClassSession, counter: str) -> None:
    if counter == Counter.NETWORK:
        ClassSession.objects.filter(pk=session.pk).update(network_booked=F("network_booked") - 1)
        session.network_booked -= 1
    else:
        ClassSession.objects.filter(pk=session.pk).update(premium_booked=F("premium_booked") - 1)
        session.premium_booked -= 1


# --- cancelling ----------------------------------------------------------------------------


@dataclass(frozen=True)
class CancelTerms:
    """What cancelling a booked reservation costs at a given moment."""

    late: bool
    free_until: datetime
    fee_cents: int  # the late-cancel fee; 0 for a class paid in money, whose price is kept
    kept_cents: int  # the money paid for the class that a late cancel does not refund
    currency: str

    def describe(self) -> str:
        """The terms in a sentence, for the member about to cancel."""
        if not self.late:
            return "Free cancellation."
        if self.kept_cents:
            return f"A late cancel: the {format_money(self.kept_cents, self.currency)} paid stays."
        fee = f" and a {format_money(self.fee_cents, self.currency)} fee is charged"
        return f"A late cancel: your credits come back{fee if self.fee_cents else ''}."


def cancel_terms(session: ClassSession, reservation: Reservation, now: datetime) -> CancelTerms:
    """The terms of cancelling `reservation` of `session` (with its studio and market) now."""
    market = session.studio.market
    return CancelTerms(
        late=now > session.free_cancel_until,
        free_until=session.free_cancel_until,
        fee_cents=_fee_cents(reservation, market, PaymentKind.LATE_CANCEL_FEE),
        kept_cents=reservation.money_paid_cents,
        currency=market.currency,
    )


def _refuse_cancel(session: ClassSession, reservation: Reservation, now: datetime) -> None:
    """Raise NotCancellable where a booked reservation cannot be cancelled now."""
    if reservation.status != ReservationStatus.BOOKED:
        raise NotCancellable(f"This reservation is {reservation.get_status_display().lower()}.")
    if now >= session.starts_at:
        raise NotCancellable("This class has started; it can no longer be cancelled.")


def cancel_preview(reservation: Reservation, now: datetime | None = None) -> CancelTerms:
    """What cancelling `reservation` (with its session, studio and market) would cost now, as
    its Cancel button says; NotCancellable where cancel() would refuse. It only reads:
    cancel() decides again under its locks (and refuses a late cancel sent as a free one)."""
    now = now or timezone.now()
    session = reservation.session
    if reservation.status == ReservationStatus.HELD:  # an unpaid hold is let go, for nothing
        return CancelTerms(
            late=False,
            free_until=session.starts_at,
            fee_cents=0,
            kept_cents=0,
            currency=session.studio.market.currency,
        )
    _refuse_cancel(session, reservation, now)
    return cancel_terms(session, reservation, now)


def cancel(
    reservation_id: int,
    *,
    member: Member | None = None,
    now: datetime | None = None,
    late_ok: bool = True,
) -> Reservation:
    """Cancel a reservation. Free up to the studio's window; inside it, a late cancel.

    Credits always come back. A late cancel charges the market's fee and pays the studio its
    rate; the freed spot goes to the waitlist in the same transaction.
    Pass `member` to refuse (as not found) a reservation of someone else, and `late_ok=False`
    when the member was shown a free cancellation: a late one is then refused with its terms
    (LateCancelNotConfirmed), so nobody pays a fee they were not told of.
    """
    now = now or timezone.now()
    with transaction.atomic(durable=True):
        session, locked_member, reservation = _lock_reservation(reservation_id, member=member)
        if reservation.status == ReservationStatus.HELD:  # an unpaid hold: just let it go
            _release_hold_locked(session, reservation, now)
            reservation.status = ReservationStatus.CANCELLED
            reservation.save(update_fields=["status"])
            return reservation
        _refuse_cancel(session, reservation, now)
        terms = cancel_terms(session, reservation, now)
        late = terms.late
        if late and not late_ok:
            local = timezone.localtime(terms.free_until, session.studio.market.tzinfo)
            raise LateCancelNotConfirmed(
                f"Free cancellation ended {local:%a} {local.day} {local:%b} at {local:%H:%M}. "
                f"{terms.describe()} "
                "Cancel again to confirm."
            )
        _release_locked(session, reservation.counter)
        _give_back_locked(
            session, reservation, locked_member, why="cancelled", refund_money=not late
        )
        reservation.status = (
            ReservationStatus.LATE_CANCELLED if late else ReservationStatus.CANCELLED
        )
        reservation.cancelled_at = now
        reservation.save(update_fields=["status", "cancelled_at"])
        if late:
            _charge_fee_locked(reservation, locked_member, session, PaymentKind.LATE_CANCEL_FEE)
            _earn(reservation, session, now)
        promote_waitlist_locked(session, now=now)
        emails.send_on_commit(reservation.pk, "late_cancelled" if late else "cancelled")
    if member is not None:
        member.credit_balance = locked_member.credit_balance
    return reservation


def _give_back_locked(
    session: ClassSession,
    reservation: Reservation,
    member: Member,
    *,
    why: str,
    refund_money: bool,
    refund_credits: bool = True,
) -> None:
    if refund_credits and reservation.credits_spent:
        members_services.post_credits_locked(
            member,
            kind=CreditKind.REFUND,
            amount=reservation.credits_spent,
            reference=reservation.ref("refund"),
            note=refund_note(session, why),
        )
    if refund_money and reservation.payment_id and reservation.money_paid_cents:
        members_services.refund(
            reservation.payment,
            amount_cents=reservation.money_paid_cents,
            reference=reservation.refund_ref,
            description=f"{class_label(session)}: {why}",
        )


def _charge_fee_locked(
    reservation: Reservation, member: Member, session: ClassSession, kind: str
) -> None:
    """Charge the market's late-cancel or missed-class fee (credit bookings only)."""
    market = session.studio.market
    fee = _fee_cents(reservation, market, kind)
    if not fee:
        return
    try:
        members_services.charge(
            member,
            kind=kind,
            amount_cents=fee,
            currency=market.currency,
            reference=reservation.ref(kind),
            description=class_label(session),
            ask_again_later=True,
        )
    except PaymentFailed:
        # The cancellation stands; the declined fee is on record for support to follow up
        # (one the provider did not answer is recorded as pending, and asked again).
        log.warning("Fee for reservation %s was declined", reservation.pk)


def _fee_cents(reservation: Reservation, market, kind: str) -> int:
    """The market's late-cancel or missed-class fee; none for a class paid in money, whose
    price stays with the studio instead."""
    if reservation.money_paid_cents:
        return 0
    if kind == PaymentKind.LATE_CANCEL_FEE:
        return market.late_cancel_fee_cents
    return market.missed_class_fee_cents


def _earning_row(reservation: Reservation, session: ClassSession, now: datetime, what: str) -> dict:
    return {
        "studio": session.studio,
        "kind": EarningKind.RESERVATION
        if reservation.kind == ReservationKind.STANDARD
        else EarningKind.PREMIUM,
        "amount_cents": reservation.studio_payout_cents,
        "occurred_at": now,
        "reference": reservation.ref("reservation"),
        "session": session,
        "description": f"{reservation.get_kind_display()} · {what}",
    }


def _earn(reservation: Reservation, session: ClassSession, now: datetime) -> None:
    """The studio is paid once per reservation (idempotent on its reference)."""
    row = _earning_row(reservation, session, now, reservation.get_status_display())
    studios_services.record_earning(row.pop("studio"), **row)


def _reverse_payout_locked(
    reservation: Reservation, session: ClassSession, now: datetime, *, why: str
) -> None:
    """Take back the studio's payout for the reservation's current mark, by a new entry."""
    earned = EarningEntry.objects.filter(reference=reservation.ref("reservation")).first()
    if earned is not None:
        studios_services.record_earning(
            session.studio,
            kind=earned.kind,
            amount_cents=-earned.amount_cents,
            occurred_at=now,
            reference=reservation.ref("reversal"),
            session=session,
            description=why,
        )


def _refund_fee_locked(
    reservation: Reservation, session: ClassSession, kind: str, *, why: str
) -> Payment | None:
    """Give back the late-cancel or missed-class fee of the reservation's current mark, if it
    was charged. Returns the fee, charged or not, or None if none was attempted."""
    fee = Payment.objects.filter(reference=reservation.ref(kind)).first()
    if fee is not None and fee.status == PaymentStatus.SUCCEEDED:
        members_services.refund(
            fee,
            reference=reservation.ref("fee-refund"),
            description=f"{class_label(session)}: {why}",
        )
    return fee


FEE_STATUS = {
    PaymentKind.LATE_CANCEL_FEE: ReservationStatus.LATE_CANCELLED,
    PaymentKind.MISSED_CLASS_FEE: ReservationStatus.MISSED,
}


def fee_answered_late(payment: Payment) -> None:
    """settings.PAYMENT_SETTLED_HOOKS: a late-cancel or missed-class fee that the provider
    answered yes to only when asked again is given back if it stopped being due meanwhile: the
    studio cancelled the class, or staff undid the no-show mark. Under the class's lock, so a
    cancellation or an undo either came first (and is seen here) or comes after (and sees the
    fee charged, and refunds it itself); both use the same refund reference, so never twice."""
    if payment.kind not in FEE_STATUS:
        return
    # The fee's reference is reservation.ref(kind): "<kind>:reservation:<pk>[:v<n>]".
    _, _, of_reservation = payment.reference.partition(":")
    parts = of_reservation.split(":")
    if len(parts) < 2 or parts[0] != "reservation" or not parts[1].isdigit():
        return  # not a fee the engine charged: support's to look at
    found = Reservation.objects.filter(pk=int(parts[1])).first()
    if found is None:
        return
    session = lock_session(found.session_id)
    reservation = Reservation.objects.get(pk=found.pk)  # as of the lock
    due = (
        session.status != SessionStatus.CANCELLED
        and reservation.status == FEE_STATUS[payment.kind]
        and reservation.ref(payment.kind) == payment.reference
    )
    reference = f"fee-refund:{of_reservation}"
    if not due and not Payment.objects.filter(reference=reference).exists():
        cancelled = session.status == SessionStatus.CANCELLED
        why = "cancelled by the studio" if cancelled else "no-show mark undone"
        if members_services.refund(
            payment, reference=reference, description=f"{class_label(session)}: {why}"
        ):
            emails.send_email_on_commit(reservation.pk, "fee_refunded", payment.pk)


def session_cancellable(session: ClassSession, now: datetime) -> bool:
    """Whether the studio may still cancel the class (cancel_session decides under the lock)."""
    return session.status == SessionStatus.SCHEDULED and now < session.starts_at


def cancel_session(session_id: int, *, now: datetime | None = None) -> int:
    """The studio cancels a class before it starts: everyone refunded in full and e-mailed, no
    fee, no payout. A spot held for payment ends as well, so nobody can pay for the cancelled
    class. A member checked in early is refunded too and the studio's payout taken back; one
    who cancelled late gets the fee (and a price paid in money) back, and the studio's payout
    for that is taken back. Once the class has started it happened: its marks are what count.

    Returns how many members were refunded and e-mailed. Safe to run twice.
    """
    now = now or timezone.now()
    with transaction.atomic(durable=True):
        session = lock_session(session_id)
        if session.status == SessionStatus.CANCELLED:
            return 0
        if now >= session.starts_at:
            raise NotCancellable("This class has started; it can no longer be cancelled.")
        affected = list(
            Reservation.objects.filter(
                session=session,
                status__in=[
                    ReservationStatus.BOOKED,
                    ReservationStatus.ATTENDED,
                    ReservationStatus.LATE_CANCELLED,
                ],
            )
            .select_related("payment")
            .order_by("member_id", "pk")
        )
        why = "cancelled by the studio"
        for reservation in affected:  # members in primary-key order: no deadlock between runs
            locked_member = members_services.lock_member(reservation.member_id)
            late = reservation.status == ReservationStatus.LATE_CANCELLED
            _give_back_locked(
                session,
                reservation,
                locked_member,
                why=why,
                refund_money=True,
                refund_credits=not late,  # a late cancellation had its credits back then
            )
            if late:
                _refund_fee_locked(reservation, session, PaymentKind.LATE_CANCEL_FEE, why=why)
            if reservation.status != ReservationStatus.BOOKED:  # paid at check-in or late cancel
                _reverse_payout_locked(reservation, session, now, why="Class cancelled")
            emails.send_on_commit(reservation.pk, "session_cancelled")
        Reservation.objects.filter(
            pk__in=[r.pk for r in affected if r.status != ReservationStatus.LATE_CANCELLED]
        ).update(status=ReservationStatus.CANCELLED, cancelled_at=now)
        # Nothing was paid or spent for a held spot: it just ends (pay_hold then refuses it).
        Reservation.objects.filter(session=session, status=ReservationStatus.HELD).update(
            status=ReservationStatus.CANCELLED, cancelled_at=now
        )
        WaitlistEntry.objects.filter(session=session, status=WaitlistStatus.WAITING).update(
            status=WaitlistStatus.EXPIRED, updated_at=now
        )
        ClassSession.objects.filter(pk=session.pk).update(
            status=SessionStatus.CANCELLED, network_booked=0, premium_booked=0
        )
    return len(affected)


# --- the waitlist --------------------------------------------------------------------------


def waitlist_open(session: ClassSession) -> bool:
    """A class has a waitlist when it offers network spots and none is left."""
    return session.network_spots > 0 and session.standard_left == 0


def may_join_waitlist(ctx: BookingContext) -> bool:
    """Whether to offer the member the class's waitlist (the class page, the API): they are
    neither on it nor booked, the class's network spots are taken and nothing else stops them
    booking one (standard_refusal()). join_waitlist re-checks under the lock."""
    if ctx.member is None or ctx.already_booked or ctx.waiting:
        return False
    if not waitlist_open(ctx.session):
        return False
    return standard_refusal(ctx)[1] is SoldOut


def join_waitlist(member: Member, session_id: int, *, now: datetime | None = None) -> WaitlistEntry:
    """Wait for a network spot of a sold-out class. Joining twice returns the same entry."""
    now = now or timezone.now()
    with transaction.atomic(durable=True):
        session = lock_session(session_id)  # serialises with promotions of this class
        check_bookable(session, now)
        existing = WaitlistEntry.objects.filter(
            session=session, member=member, status=WaitlistStatus.WAITING
        ).first()
        if existing:
            return existing
        status = Member.objects.filter(pk=member.pk).values_list("status", flat=True).get()
        if status != SubscriptionStatus.ACTIVE:
            raise WaitlistError("Joining a waitlist needs an active plan.")
        if Reservation.objects.filter(
            session=session, member=member, status__in=LIVE_STATUSES
        ).exists():
            raise WaitlistError(ALREADY_BOOKED)
        if not waitlist_open(session):
            raise WaitlistError("This class has spots: book it instead.")
        # A member the studio's monthly limit or their credits would stop is told so now,
        # not left waiting for a spot the promotion would pass over.
        reason, error = standard_refusal(
            _context(session, sql.fetch_member_context(session, member.pk), now)
        )
        if error is not SoldOut:
            raise WaitlistError(reason)
        return WaitlistEntry.objects.create(session=session, member=member)


def leave_waitlist(member: Member, entry_id: int, *, now: datetime | None = None) -> None:
    now = now or timezone.now()
    changed = WaitlistEntry.objects.filter(
        pk=entry_id, member=member, status=WaitlistStatus.WAITING
    ).update(status=WaitlistStatus.LEFT, updated_at=now)
    if not changed:
        raise WaitlistError("You're not on this waitlist.")


def before_member_deletion(member: Member, *, now: datetime) -> None:
    """settings.MEMBER_DELETION_HOOKS, under the member's lock: an account with classes ahead is
    not deleted (the member cancels them first, under the usual rules); its waitlist places are
    given up, so no spot is ever promoted to it."""
    ahead = Reservation.objects.filter(
        member=member,
        status__in=[ReservationStatus.HELD, ReservationStatus.BOOKED],
        session__starts_at__gt=now,
    ).count()
    if ahead:
        classes = "1 class" if ahead == 1 else f"{ahead} classes"
        raise AccountNotDeletable(
            f"You have {classes} ahead: cancel {'it' if ahead == 1 else 'them'} on My schedule "
            "first."
        )
    WaitlistEntry.objects.filter(member=member, status=WaitlistStatus.WAITING).update(
        status=WaitlistStatus.LEFT, updated_at=now
    )


def waitlist_position(entry: WaitlistEntry) -> int:
    return (
        WaitlistEntry.objects.filter(session_id=entry.session_id, status=WaitlistStatus.WAITING)
        .filter(
            Q(created_at__lt=entry.created_at) | Q(created_at=entry.created_at, pk__lt=entry.pk)
        )
        .count()
        + 1
    )


def promote_waitlist_locked(
    session: ClassSession, *, now: datetime, source: str = Source.WAITLIST
) -> int:
    """Give free network spots to waiting members in order. Hold the session lock.

    A member who is no longer eligible (limit, credits, plan) is passed over and stays on the
    list. Stops at the promotion cutoff before the class. Returns how many were promoted.

    The caller may already hold another member's lock, so waiting here for a member's lock
    could deadlock with a transaction doing the mirror image. A member whose row is busy is
    skipped, and a task retries the promotion after the commit.
    """
    if now >= session.starts_at - settings.WAITLIST_PROMOTION_CUTOFF:
        return 0
    promoted, busy = 0, False
    waiting = WaitlistEntry.objects.filter(session=session, status=WaitlistStatus.WAITING).order_by(
        "created_at", "pk"
    )
    for entry in waiting:
        if session.standard_left <= 0:
            break
        member = members_services.lock_member(entry.member_id, skip_locked=True)
        if member is None:
            busy = True
            continue
        try:
            with transaction.atomic():  # a savepoint: a refusal rolls back nothing of the caller
                book_locked(
                    session, member, offer_kind=ReservationKind.STANDARD, source=source, now=now
                )
        except BookingError:
            continue
        promoted += 1
    if busy and session.standard_left > 0:
        outbox.publish("bookings.services.promote_waitlist", session.pk)
    return promoted


def promote_waitlist(session_id: int, *, now: datetime | None = None) -> int:
    """Promote waiting members of one class in a transaction of its own (task entry point)."""
    now = now or timezone.now()
    with transaction.atomic(durable=True):
        session = lock_session(session_id)
        if session.status != SessionStatus.SCHEDULED:
            return 0
        return promote_waitlist_locked(session, now=now)


# --- attendance ----------------------------------------------------------------------------


def mark_attended(reservation_id: int, *, now: datetime | None = None) -> Reservation:
    return _mark(reservation_id, ReservationStatus.ATTENDED, now=now or timezone.now())


def mark_missed(reservation_id: int, *, now: datetime | None = None) -> Reservation:
    return _mark(reservation_id, ReservationStatus.MISSED, now=now or timezone.now())


def check_in_opens_at(session: ClassSession) -> datetime:
    """Staff may check members in from then on; no-shows are marked once the class starts."""
    return session.starts_at - CHECK_IN_OPENS


def _mark(reservation_id: int, status: str, *, now: datetime) -> Reservation:
    """Staff mark attendance. A no-show gets credits back and pays the fee; the studio earns."""
    with transaction.atomic(durable=True):
        session, member, reservation = _lock_reservation(reservation_id, member=None)
        if reservation.status != ReservationStatus.BOOKED:
            raise NotCancellable(
                f"This reservation is already {reservation.get_status_display().lower()}."
            )
        if status == ReservationStatus.MISSED and now < session.starts_at:
            raise NotCancellable("A member can be marked missing once the class has started.")
        if now < check_in_opens_at(session):
            raise NotCancellable("Check-in opens an hour before the class.")
        if status == ReservationStatus.MISSED:
            _give_back_locked(session, reservation, member, why="missed", refund_money=False)
            _charge_fee_locked(reservation, member, session, PaymentKind.MISSED_CLASS_FEE)
            emails.send_on_commit(reservation.pk, "missed")
        reservation.status = status
        reservation.marked_at = now
        reservation.save(update_fields=["status", "marked_at"])
        _earn(reservation, session, now)
    return reservation


def undo_mark(reservation_id: int, *, now: datetime | None = None) -> Reservation:
    """Take back an attended or missed mark within the class's day (studio-local).

    Every ledger movement is reversed by a new entry: the studio's payout, and for a no-show
    the returned credits (taken again) and the fee (refunded). Refused if the member has
    spent the returned credits meanwhile.
    """
    now = now or timezone.now()
    with transaction.atomic(durable=True):
        session, member, reservation = _lock_reservation(reservation_id, member=None)
        if reservation.status not in (ReservationStatus.ATTENDED, ReservationStatus.MISSED):
            raise NotCancellable("Only a check-in or a no-show mark can be undone.")
        tz = session.studio.market.tzinfo
        day_ends = studios_services.local_to_utc(
            timezone.localtime(session.starts_at, tz).date() + timedelta(days=1), time(0), tz
        )
        if now >= day_ends:
            raise NotCancellable("Marks can be undone until the end of the class's day.")
        was_missed = reservation.status == ReservationStatus.MISSED
        if was_missed and reservation.credits_spent:
            if member.credit_balance < reservation.credits_spent:
                raise NotCancellable(
                    "The member has already spent the credits returned for the no-show."
                )
            members_services.post_credits_locked(
                member,
                kind=CreditKind.BOOKING,
                amount=-reservation.credits_spent,
                reference=reservation.ref("rebook"),
                note=f"{class_label(session)}: no-show mark undone, credits taken again.",
            )
        if was_missed:  # the member was e-mailed about the no-show: tell them it is taken back
            fee = _refund_fee_locked(
                reservation, session, PaymentKind.MISSED_CLASS_FEE, why="no-show mark undone"
            )
            emails.send_email_on_commit(reservation.pk, "mark_undone", fee and fee.pk)
        _reverse_payout_locked(
            reservation, session, now, why=f"{reservation.get_status_display()} mark undone"
        )
        reservation.status = ReservationStatus.BOOKED
        reservation.marked_at = None
        reservation.mark_version += 1
        reservation.save(update_fields=["status", "marked_at", "mark_version"])
    return reservation


def send_class_reminders(*, now: datetime | None = None, chunk: int = 1000) -> int:
    """E-mail each member whose class starts within CLASS_REMINDER_AHEAD, once.

    A booking made after the reminder window opened gets none: its confirmation is fresh. The
    flag and the outbox messages are written in one transaction, chunk by chunk, and rows that
    another run holds are skipped, so two runs, or a rerun, remind nobody twice.
    """
    now = now or timezone.now()
    ahead = settings.CLASS_REMINDER_AHEAD
    total = 0
    while True:
        with transaction.atomic():
            ids = list(
                Reservation.objects.select_for_update(skip_locked=True)
                .filter(
                    status=ReservationStatus.BOOKED,
                    starts_at__gt=now,
                    starts_at__lte=now + ahead,
                    reminded_at__isnull=True,
                    created_at__lt=F("starts_at") - ahead,
                    member__class_reminders=True,
                )
                .order_by("starts_at", "pk")
                .values_list("pk", flat=True)[:chunk]
            )
            if not ids:
                return total
            Reservation.objects.filter(pk__in=ids).update(reminded_at=now)
            outbox.publish_many(
                "bookings.emails.send_reservation_email", [[pk, "reminder"] for pk in ids]
            )
            total += len(ids)


def mark_unmarked_attended(*, now: datetime | None = None, chunk: int = 1000) -> int:
    """Reservations still unmarked 48 h after their class ends become attended and earn.

    Works in chunks, each its own transaction; rows another run holds are skipped, and the
    earnings are written once per reservation, so two runs, or a rerun, change nothing twice.
    """
    now = now or timezone.now()
    total, after = 0, 0
    while True:
        with transaction.atomic():
            rows = list(
                Reservation.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(status=ReservationStatus.BOOKED, pk__gt=after)
                .filter(starts_at__lt=now - settings.ATTENDANCE_DEFAULT_AFTER)
                .select_related("session__studio__market")
                .order_by("pk")[:chunk]
            )
            if not rows:
                return total
            after = rows[-1].pk
            due = [
                r for r in rows if _class_end(r.session) + settings.ATTENDANCE_DEFAULT_AFTER <= now
            ]
            Reservation.objects.filter(pk__in=[r.pk for r in due]).update(
                status=ReservationStatus.ATTENDED, marked_at=now
            )
            studios_services.record_earnings_bulk(
                [_earning_row(r, r.session, now, "Attended") for r in due]
            )
            total += len(due)


def _class_end(session: ClassSession) -> datetime:
    return session.starts_at + timedelta(minutes=session.duration_minutes)


def inventory_changed_locked(session: ClassSession) -> None:
    """Staff changed a class's inventory (SESSION_INVENTORY_HOOKS): fill new network spots
    from the waitlist, in the same transaction. Hold the session lock."""
    if session.standard_left > 0:
        promote_waitlist_locked(session, now=timezone.now())
