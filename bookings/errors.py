"""Errors of the booking engine; each message is meant for the member who caused it."""


class BookingError(Exception):
    code = "booking_error"
    status = 400

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class SessionNotFound(BookingError):
    code = "session_not_found"
    status = 404


class NotBookable(BookingError):
    """The class cannot be booked now: past, cancelled, outside the window, past the cutoff."""

    code = "not_bookable"
    status = 409


class SoldOut(BookingError):
    code = "sold_out"
    status = 409


class LimitReached(BookingError):
    code = "limit_reached"
    status = 409


class NotEnoughCredits(BookingError):
    code = "not_enough_credits"
    status = 409


class NoActivePlan(BookingError):
    code = "no_active_plan"
    status = 409


class AlreadyBooked(BookingError):
    code = "already_booked"
    status = 409


class OfferNotAvailable(BookingError):
    code = "offer_not_available"
    status = 409


class PriceChanged(BookingError):
    code = "price_changed"
    status = 409


class NotCancellable(BookingError):
    code = "not_cancellable"
    status = 409


class LateCancelNotConfirmed(NotCancellable):
    """A cancel sent from a page that still offered a free one, now that the window has closed."""

    code = "late_cancel_not_confirmed"


class WaitlistError(BookingError):
    code = "waitlist_error"
    status = 409


class IdempotencyConflict(BookingError):
    code = "idempotency_conflict"
    status = 409


class HoldExpired(BookingError):
    code = "hold_expired"
    status = 409


class PaymentDeclined(BookingError):
    code = "payment_declined"
    status = 402
