"""Show that the race harness catches a naive engine (read, check, insert; no lock).

    python bench/naive_race.py [--members 50] [--spots 5]

Runs the same threads-on-PostgreSQL race as tests/bookings/test_concurrency.py twice: once
against a naive booking function and once against bookings.services.book, and prints how
many reservations each left for the last N spots.
"""

import argparse

from harness import ROOT, configure, recreate_database

configure(eager=True)

import django  # noqa: E402

django.setup()

import sys  # noqa: E402

sys.path.insert(0, str(ROOT))

from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from bookings import services  # noqa: E402
from bookings.errors import BookingError  # noqa: E402
from bookings.models import Reservation  # noqa: E402
from members import services as members_services  # noqa: E402
from studios.models import ClassSession  # noqa: E402
from tests import factories  # noqa: E402
from tests.race import run_in_threads  # noqa: E402


def naive_book(member, session_id):
    """What the engine must not be: the check and the write are not under one lock."""
    with transaction.atomic():
        session = ClassSession.objects.get(pk=session_id)
        if session.network_booked >= session.network_spots:
            raise BookingError("sold out")
        reservation = Reservation.objects.create(
            member=member,
            session=session,
            studio_id=session.studio_id,
            starts_at=session.starts_at,
            credits_spent=session.credit_price,
            currency="USD",
            studio_payout_cents=0,
        )
        ClassSession.objects.filter(pk=session_id).update(network_booked=session.network_booked + 1)
        return reservation


def race(book, members, spots):
    session = factories.ClassSessionFactory(
        capacity=100, network_spots=spots, starts_at=timezone.now() + timezone.timedelta(days=1)
    )
    run_in_threads(len(members), lambda i: book(members[i], session.pk))
    return Reservation.objects.filter(session=session).count()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=50)
    parser.add_argument("--spots", type=int, default=5)
    args = parser.parse_args()
    recreate_database()
    connection.close()
    market = factories.MarketFactory()
    plan = factories.PlanFactory(market=market, credits_per_cycle=100)
    members = []
    for _ in range(args.members):
        member = factories.MemberFactory(home_market=market)
        members_services.choose_plan(member, plan)
        members.append(member)
    naive = race(naive_book, members, args.spots)
    real = race(lambda m, s: services.book(m, s), members, args.spots)
    print(f"{args.members} members racing for {args.spots} spots")
    for name, count in (("naive (read, check, insert)", naive), ("bookings.services.book", real)):
        print(f"{name:<30} {count:>3} reservations  overbooked: {count > args.spots}")


if __name__ == "__main__":
    main()
