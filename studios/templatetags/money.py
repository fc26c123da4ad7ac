"""Money, credits and studio-local time in templates: {{ cents|money:currency }},
{{ n|credits }}, {{ dt|local:tzname }}."""

from django import template

register = template.Library()

SYMBOLS = {"USD": "$", "GBP": "£", "EUR": "€", "CAD": "CA$", "AUD": "A$"}


def format_money(cents: int, currency: str) -> str:
    sign = "-" if cents < 0 else ""
    units, minor = divmod(abs(int(cents)), 100)
    symbol = SYMBOLS.get(currency)
    amount = f"{units:,}.{minor:02d}"
    return f"{sign}{symbol}{amount}" if symbol else f"{sign}{amount} {currency}"


def format_credits(count: int) -> str:
    """'1 credit', '8 credits'."""
    return f"{count} credit" if abs(int(count)) == 1 else f"{count} credits"


@register.filter
def credits(count) -> str:
    if count is None or count == "":
        return ""
    return format_credits(count)


@register.filter
def money(cents, currency: str = "USD") -> str:
    if cents is None or cents == "":
        return ""
    return format_money(cents, currency)


@register.filter
def currency_symbol(currency: str) -> str:
    """'£' for GBP; the code itself where no symbol is kept."""
    return SYMBOLS.get(currency, currency)


@register.filter
def local(moment, tzname: str):
    """The wall time of an aware datetime in a studio's timezone (naive, so |date keeps it)."""
    from zoneinfo import ZoneInfo

    if moment is None:
        return ""
    return moment.astimezone(ZoneInfo(tzname)).replace(tzinfo=None)
