"""Errors of the members app; each message is meant for the member or admin who caused it."""


class MemberError(Exception):
    """Base class: a request about a member's plan, credits or payments was refused."""

    code = "member_error"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class EmailTaken(MemberError):
    code = "email_taken"


class TooManySignUps(MemberError):
    """Sign-ups from one client address went over SIGN_UP_IP_THROTTLE; `wait` is in seconds."""

    code = "throttled"

    def __init__(self, message: str, *, wait: float):
        super().__init__(message)
        self.wait = wait


class InvalidLink(MemberError):
    """A link e-mailed to a member (to confirm a new address) is altered, expired or stale."""

    code = "invalid_link"


class PlanNotAvailable(MemberError):
    code = "plan_not_available"


class InvalidPlanState(MemberError):
    code = "invalid_plan_state"


class NotEnoughCredits(MemberError):
    code = "not_enough_credits"


class PaymentFailed(MemberError):
    code = "payment_failed"


class PaymentUnavailable(MemberError):
    """The payment provider did not answer (an error, not a decline): nothing started, the try
    is kept as a pending payment, and the same request can be sent again: it asks about that
    charge first, so nothing is charged twice."""

    code = "payment_unavailable"


class AccountNotDeletable(MemberError):
    code = "account_not_deletable"
