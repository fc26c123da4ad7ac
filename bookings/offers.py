"""What a member may book, and for what: offers, and the providers that make them.

The engine asks every provider named in settings.BOOKING_OFFER_PROVIDERS for its offers in a
BookingContext built under the session and member locks. This module provides the standard
offer (a network spot for credits); other apps plug in more (Premium, à la carte) without the
engine knowing them.
"""

from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import cache

from django.conf import settings
from django.utils.module_loading import import_string

from members.models import Member
from studios.models import ClassSession
from studios.templatetags.money import format_credits

from .errors import (
    AlreadyBooked,
    BookingError,
    LimitReached,
    NoActivePlan,
    NotEnoughCredits,
    SoldOut,
)
from .models import Counter, ReservationKind


@dataclass(frozen=True)
class BookingContext:
    """Everything an offer depends on, read under the locks (or read-only for a page)."""

    session: ClassSession  # with studio, studio.market and class_type loaded
    member: Member | None  # None for an anonymous visitor
    now: datetime
    standard_visits_in_cycle: int = 0
    already_booked: bool = False
    waiting: bool = False

    @property
    def room_left(self) -> int:
        return self.session.room_left

    @property
    def standard_left(self) -> int:
        return self.session.standard_left

    @property
    def has_active_plan(self) -> bool:
        return self.member is not None and self.member.has_active_plan

    @property
    def limit_reached(self) -> bool:
        return self.standard_visits_in_cycle >= self.session.studio.monthly_visit_limit


@dataclass(frozen=True)
class Offer:
    """One way to book a class. `available` False carries the reason the member sees."""

    kind: str
    available: bool
    credits: int = 0
    money_cents: int = 0
    currency: str = ""
    studio_payout_cents: int = 0
    counter: str = Counter.NETWORK
    premium_reason: str = ""
    explanation: str = ""
    label: str = ""
    reason: str = ""
    error: type[BookingError] = field(default=BookingError)

    def refuse(self) -> BookingError:
        return self.error(self.reason)


ALREADY_BOOKED = "You're already booked into this class."


class StandardOfferProvider:
    """A network spot for the class's credit price, within the studio's monthly limit."""

    def offers(self, ctx: BookingContext) -> list[Offer]:
        session = ctx.session
        studio = session.studio
        base = {
            "kind": ReservationKind.STANDARD,
            "credits": session.credit_price,
            "currency": studio.market.currency,
            "studio_payout_cents": studio.payout_rate_cents,
            "counter": Counter.NETWORK,
            "explanation": f"{format_credits(session.credit_price)} from your plan.",
            "label": f"Book for {format_credits(session.credit_price)}",
        }
        reason, error = standard_refusal(ctx)
        if reason:
            return [Offer(available=False, reason=reason, error=error, **base)]
        return [Offer(available=True, **base)]


def standard_refusal(ctx: BookingContext) -> tuple[str, type[BookingError]]:
    """Why the member may not book a network spot of the class for credits, and the error to
    raise ("" if they may). What the member could change (a plan, the studio's monthly limit,
    their credits) comes before the class being sold out: only a member whom nothing but a
    free spot stops is sent to the waitlist (join_waitlist() asks the same)."""
    session, member = ctx.session, ctx.member
    if member is None or not member.has_active_plan:
        return "Booking with credits needs an active plan.", NoActivePlan
    if session.network_spots == 0:
        return "This class offers no spots on the network.", SoldOut
    if ctx.limit_reached:
        limit = session.studio.monthly_visit_limit
        return f"You've reached your {limit} visits at this studio this cycle.", LimitReached
    if member.credit_balance < session.credit_price:
        return (
            f"This class costs {format_credits(session.credit_price)}; "
            f"you have {member.credit_balance}.",
            NotEnoughCredits,
        )
    if ctx.standard_left <= 0:
        return "This class is sold out. Join the waitlist to get the next free spot.", SoldOut
    return "", BookingError


@cache
def _providers(paths: tuple[str, ...]) -> list:
    return [import_string(path)() for path in paths]


def providers() -> list:
    return _providers(tuple(settings.BOOKING_OFFER_PROVIDERS))


def collect_offers(ctx: BookingContext) -> list[Offer]:
    """Every provider's offers; none is open to a member already booked into the class (one
    reservation per member and class), and each then says so."""
    offers = [offer for provider in providers() for offer in provider.offers(ctx)]
    if ctx.already_booked:
        return [
            replace(offer, available=False, reason=ALREADY_BOOKED, error=AlreadyBooked)
            for offer in offers
        ]
    return offers
