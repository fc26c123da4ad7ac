"""The Premium and à-la-carte offers, plugged into the booking engine (BOOKING_OFFER_PROVIDERS).

Premium sells spots beyond the network allocation, never where a standard spot is open to the
member, never past the room or the studio's cap:
    premium_left = min(room_left - standard_left, max_spots - premium_booked)
"""

import math

from bookings.errors import NotEnoughCredits, SoldOut
from bookings.models import Counter, PremiumReason, ReservationKind
from bookings.offers import BookingContext, Offer
from studios.templatetags.money import format_credits, format_money

from .selectors import price_for, settings_for


def premium_credits(price_cents: int, credit_value_cents: int) -> int:
    """The premium price in the market's credits, rounded up."""
    return math.ceil(price_cents / credit_value_cents)


class PremiumOfferProvider:
    def offers(self, ctx: BookingContext) -> list[Offer]:
        session, member = ctx.session, ctx.member
        if member is None:
            return []
        standard_open = (
            member.has_active_plan
            and session.network_spots > 0
            and ctx.standard_left > 0
            and not ctx.limit_reached
        )
        if standard_open:
            return []  # the common case costs no query: Premium is not for members with a spot
        settings = settings_for(session.studio)
        if not settings.enabled:
            return []
        price = price_for(settings, session.class_type)
        premium_left = session.premium_left(settings.max_spots)
        if member.has_active_plan:
            return [self._premium(ctx, price, premium_left)]
        if settings.a_la_carte_enabled:
            return [self._a_la_carte(ctx, price, premium_left)]
        return []

    def _premium(self, ctx: BookingContext, price: int, premium_left: int) -> Offer:
        session, member = ctx.session, ctx.member
        market = session.studio.market
        credits = premium_credits(price, market.credit_value_cents)
        if ctx.limit_reached:
            reason = PremiumReason.LIMIT_REACHED
            limit = session.studio.monthly_visit_limit
            why = f"You've reached your {limit} visits at this studio this cycle."
        elif session.network_spots == 0:
            reason, why = (
                PremiumReason.ZERO_ALLOCATION,
                "This class offers no standard spots on the network.",
            )
        else:
            reason, why = (
                PremiumReason.NETWORK_SOLD_OUT,
                "The standard spots are sold out, but the room has space.",
            )
        base = {
            "kind": ReservationKind.PREMIUM,
            "credits": credits,
            "currency": market.currency,
            "studio_payout_cents": price,
            "counter": Counter.PREMIUM,
            "premium_reason": reason,
            "label": f"Book Premium for {format_credits(credits)}",
            "explanation": (
                f"{why} Premium costs {format_credits(credits)}: the "
                f"{format_money(price, market.currency)} premium price at "
                f"{format_money(market.credit_value_cents, market.currency)} a credit, rounded up."
            ),
        }
        if premium_left <= 0:
            return Offer(
                available=False,
                reason="No Premium spots are left in this class.",
                error=SoldOut,
                **base,
            )
        if member.credit_balance < credits:
            return Offer(
                available=False,
                reason=(
                    f"Premium costs {format_credits(credits)}; you have {member.credit_balance}."
                ),
                error=NotEnoughCredits,
                **base,
            )
        return Offer(available=True, **base)

    def _a_la_carte(self, ctx: BookingContext, price: int, premium_left: int) -> Offer:
        market = ctx.session.studio.market
        base = {
            "kind": ReservationKind.A_LA_CARTE,
            "money_cents": price,
            "currency": market.currency,
            "studio_payout_cents": price,
            "counter": Counter.PREMIUM,
            "premium_reason": PremiumReason.A_LA_CARTE,
            "label": f"Buy this class for {format_money(price, market.currency)}",
            "explanation": "One class, no plan needed. The spot is yours for 10 minutes to pay.",
        }
        if premium_left <= 0:
            return Offer(
                available=False,
                reason="No spots are left to buy in this class.",
                error=SoldOut,
                **base,
            )
        return Offer(available=True, **base)
