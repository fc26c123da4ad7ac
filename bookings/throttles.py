"""A member's bookings per minute are limited, on the website and the API alike."""

from rest_framework.throttling import UserRateThrottle


class BookingRateThrottle(UserRateThrottle):
    """settings.REST_FRAMEWORK DEFAULT_THROTTLE_RATES["booking"]; keyed by the user."""

    scope = "booking"
