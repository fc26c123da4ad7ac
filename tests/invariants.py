"""DESIGN.md's invariants, checked over the whole database after a test has done its worst."""

from django.db.models import Count, Q, Sum

from bookings.models import LIVE_STATUSES, Reservation
from members.models import Member
from studios.models import ClassSession


def assert_invariants(*, studio=None) -> None:
    """DESIGN.md's invariants: no room overbooked, counters match, balances equal ledgers >= 0;
    over the whole database, or one studio's classes and its market's members."""
    classes, members = ClassSession.objects.all(), Member.objects.all()
    if studio is not None:
        classes = classes.filter(studio=studio)
        members = members.filter(home_market_id=studio.market_id)
    sessions = classes.annotate(
        live_network=Count(
            "reservations",
            filter=Q(reservations__status__in=LIVE_STATUSES, reservations__counter="network"),
        ),
        live_premium=Count(
            "reservations",
            filter=Q(reservations__status__in=LIVE_STATUSES, reservations__counter="premium"),
        ),
    )
    for s in sessions:
        assert s.live_network + s.live_premium + s.studio_booked <= s.capacity, s
        assert s.live_network <= s.network_spots, s
        assert (s.network_booked, s.premium_booked) == (s.live_network, s.live_premium), s
    for m in members.annotate(total=Sum("credit_entries__amount")):
        assert m.credit_balance == (m.total or 0) >= 0, m
    duplicates = (
        Reservation.objects.filter(status__in=LIVE_STATUSES, session__in=classes)
        .values("member", "session")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
    )
    assert not duplicates.exists()
