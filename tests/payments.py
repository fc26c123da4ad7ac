"""Payment providers for tests of what the product does when the provider fails."""

from members.payments import LocalPaymentProvider


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
UNREACHABLE_FOR = "tests.payments.UnreachableFor"
