"""Payment providers for tests of what the product does when the provider fails."""

import threading
import time

from members.payments import LocalPaymentProvider, ProviderResult


class Unreachable:
    """A provider that does not answer: every call raises, as a network error would."""

    name = "local"

    def charge(self, **kwargs):
        raise ConnectionError("The payment provider did not answer.")

    def refund(self, **kwargs):
        raise ConnectionError("The payment provider did not answer.")


class UnreachableFor(LocalPaymentProvider):
    """The local provider, not answering charges for '+down@' addresses."""

    def charge(self, *, email, **kwargs):
        if "+down@" in email:
            raise ConnectionError("The payment provider did not answer.")
        return super().charge(email=email, **kwargs)


UNREACHABLE = "tests.payments.Unreachable"


def a_la_carte(member, *, reference: str, cents: int):
    """A member's à la carte charge, made through the product's own charge()."""
    from members import services
    from members.models import PaymentKind

    return services.charge(
        member,
        kind=PaymentKind.A_LA_CARTE,
        amount_cents=cents,
        currency="USD",
        reference=reference,
        description="Class",
    )


UNREACHABLE_FOR = "tests.payments.UnreachableFor"


class LostAnswers(LocalPaymentProvider):
    """The local provider as an idempotent card processor behind a bad network: the first
    call with a reference is made but its answer is lost (it raises); a later call with the
    same reference is answered with what was made then, not made again. `made` and `calls`
    count per reference, across threads (tests/conftest.py clears them for each test)."""

    made: dict[str, ProviderResult] = {}
    calls: dict[str, int] = {}
    lock = threading.Lock()
    delay = 0.0

    def charge(self, *, reference, **kwargs):
        return self._once(super().charge, reference=reference, **kwargs)

    def refund(self, *, reference, **kwargs):
        return self._once(super().refund, reference=reference, **kwargs)

    def _once(self, make, *, reference, **kwargs):
        time.sleep(self.delay)  # a provider's round trip, so that racing sweeps overlap
        with self.lock:
            LostAnswers.calls[reference] = LostAnswers.calls.get(reference, 0) + 1
            if reference in LostAnswers.made:
                return LostAnswers.made[reference]
            LostAnswers.made[reference] = make(reference=reference, **kwargs)
        raise ConnectionError("The answer was lost on the way back.")


class Refusing(LocalPaymentProvider):
    """The local provider, refusing every refund (the card was closed, say)."""

    def refund(self, **kwargs):
        return ProviderResult(ok=False, failure_reason="The card account is closed.")


LOST_ANSWERS = "tests.payments.LostAnswers"
REFUSING = "tests.payments.Refusing"
