"""Show integer minor units as money: {{ cents|money:currency }} -> "$12.50"."""

from django import template

register = template.Library()

SYMBOLS = {"USD": "$", "GBP": "£", "EUR": "€", "CAD": "CA$", "AUD": "A$"}


def format_money(cents: int, currency: str) -> str:
    sign = "-" if cents < 0 else ""
    units, minor = divmod(abs(int(cents)), 100)
    symbol = SYMBOLS.get(currency)
    amount = f"{units:,}.{minor:02d}"
    return f"{sign}{symbol}{amount}" if symbol else f"{sign}{amount} {currency}"


@register.filter
def money(cents, currency: str = "USD") -> str:
    if cents is None or cents == "":
        return ""
    return format_money(cents, currency)
