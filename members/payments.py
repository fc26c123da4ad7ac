"""The payment-provider interface and the local provider used in development and tests.

A real provider (card processor) implements the same two methods and is named in
settings.PAYMENT_PROVIDER. Services call it through members.services only.

`reference` is an idempotency key: a second call with the same reference must answer what the
first one did, without charging or refunding again. A refund or fee whose answer was lost is
asked again with its reference (members.services.settle_pending_payments), so a provider that
ignored the key could give back or take the same money twice.
"""

import uuid
from dataclasses import dataclass
from functools import cache
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string


@dataclass(frozen=True)
class ProviderResult:
    ok: bool
    provider_reference: str = ""
    failure_reason: str = ""


class PaymentProvider(Protocol):
    name: str

    def charge(
        self, *, email: str, amount_cents: int, currency: str, description: str, reference: str
    ) -> ProviderResult: ...

    def refund(
        self, *, provider_reference: str, amount_cents: int, currency: str, reference: str
    ) -> ProviderResult: ...


class LocalPaymentProvider:
    """Accepts every charge, except for e-mail addresses with '+decline' (to try failures)."""

    name = "local"

    def charge(
        self, *, email: str, amount_cents: int, currency: str, description: str, reference: str
    ) -> ProviderResult:
        if "+decline@" in email:
            return ProviderResult(ok=False, failure_reason="The card was declined.")
        return ProviderResult(ok=True, provider_reference=f"local_ch_{uuid.uuid4().hex[:16]}")

    def refund(
        self, *, provider_reference: str, amount_cents: int, currency: str, reference: str
    ) -> ProviderResult:
        return ProviderResult(ok=True, provider_reference=f"local_re_{uuid.uuid4().hex[:16]}")


@cache
def _provider_for(path: str) -> PaymentProvider:
    return import_string(path)()


def get_provider() -> PaymentProvider:
    return _provider_for(settings.PAYMENT_PROVIDER)
