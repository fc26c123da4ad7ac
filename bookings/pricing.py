"""Why a class costs what it costs, in words a member can check.

A class's credit price is set on its schedule (and can be edited per session). Its reference
point is the studio's payout rate expressed in the market's credits; the difference is the
demand adjustment (peak slots and classes that fill up cost more, quiet ones less).
"""

import math
from dataclasses import dataclass

from studios.models import ClassSession
from studios.templatetags.money import format_credits, format_money


@dataclass(frozen=True)
class PriceExplanation:
    credits: int
    base_credits: int
    lines: list[str]

    @property
    def adjustment(self) -> int:
        return self.credits - self.base_credits


def base_credits(session: ClassSession) -> int:
    """The studio's payout rate in credits of its market, rounded up (at least 1)."""
    market = session.studio.market
    return max(1, math.ceil(session.studio.payout_rate_cents / market.credit_value_cents))


def explain(session: ClassSession) -> PriceExplanation:
    market, studio = session.studio.market, session.studio
    base = base_credits(session)
    rate = format_money(studio.payout_rate_cents, market.currency)
    credit = format_money(market.credit_value_cents, market.currency)
    lines = [
        f"{studio.name} is paid {rate} per visit, and a credit is worth {credit} in "
        f"{market.name}: {format_credits(base)}.",
    ]
    delta = session.credit_price - base
    if delta > 0:
        lines.append(f"+{delta} for demand: this slot is popular and fills up.")
    elif delta < 0:
        lines.append(f"{delta} for a quieter time: this slot usually has room.")
    return PriceExplanation(credits=session.credit_price, base_credits=base, lines=lines)
