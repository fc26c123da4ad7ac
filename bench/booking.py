"""Booking service throughput on PostgreSQL, beside this machine's ceiling.

    python bench/booking.py [--processes 4] [--ops 4000] [--rounds 3]

Each round runs, with the same process pool and harness:
  ceiling/low   one conditional UPDATE of a row + one INSERT (raw SQL), over 2,000 rows
  orm-pair/low  the same pair through the ORM (a session counter and an outbox row)
  booking/low   bookings.services.book over 2,000 classes at 100 studios (little contention)
  ceiling/hot   the same minimal pair on 5 rows
  booking/hot   bookings.services.book into 5 hot classes
and prints bookings/s, p50 and p99 latency, and the booking/ceiling ratio (medians of rounds).
After each booking run it checks: no class over its room, counters equal live reservations,
every balance equal to its ledger. The world (setup_world, shared with http_booking.py and
load.py) has a month of attended history, and its statistics are gathered before the run.
"""

import argparse
import time
from datetime import timedelta

from harness import analyze, configure, median, percentile, recreate_database, run_pool

configure()

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402
from django.db.models import Count, F, Q, Sum  # noqa: E402
from django.utils import timezone  # noqa: E402

from bookings import services  # noqa: E402
from bookings.errors import BookingError  # noqa: E402
from bookings.models import LIVE_STATUSES, Reservation, ReservationStatus  # noqa: E402
from members.models import CreditEntry, CreditKind, Member, Plan, SubscriptionStatus  # noqa: E402
from studios.models import ClassSession, ClassType, Market, Studio  # noqa: E402

HOT_CLASSES = 5
HISTORY_CLASSES = 3000  # a month of past classes
HISTORY_VISITS = 20  # attended classes per member in that month
BALANCE = 100_000 - HISTORY_VISITS  # each member's credits at the start of a run


def setup_world(ops: int) -> dict:
    """Markets, studios, classes and members with enough credits for every planned booking."""
    from django.contrib.auth import get_user_model

    User = get_user_model()
    market = Market.objects.create(
        name="Bench City",
        slug="bench",
        timezone="Europe/London",
        currency="GBP",
        credit_value_cents=150,
    )
    plan = Plan.objects.create(
        market=market, name="Bench", credits_per_cycle=100_000, price_cents=100
    )
    studios = Studio.objects.bulk_create(
        [
            Studio(
                market=market,
                name=f"S{i}",
                slug=f"bench-{i}",
                payout_rate_cents=1500,
                monthly_visit_limit=31,
            )
            for i in range(100)
        ]
    )
    types = ClassType.objects.bulk_create(
        [ClassType(studio=s, name="Flow", category="yoga", duration_minutes=45) for s in studios]
    )
    start = timezone.now() + timedelta(days=2)
    low = ClassSession.objects.bulk_create(
        [
            ClassSession(
                studio=studios[i % 100],
                class_type=types[i % 100],
                starts_at=start + timedelta(minutes=i),
                duration_minutes=45,
                capacity=30,
                network_spots=30,
                credit_price=1,
            )
            for i in range(2000)
        ]
    )
    per_hot = ops // HOT_CLASSES
    hot = ClassSession.objects.bulk_create(
        [
            ClassSession(
                studio=studios[i],
                class_type=types[i],
                starts_at=start,
                duration_minutes=45,
                capacity=per_hot,
                network_spots=per_hot,
                credit_price=1,
            )
            for i in range(HOT_CLASSES)
        ]
    )
    n_members = max(per_hot, 400)
    users = User.objects.bulk_create(
        [User(username=f"b{i}@x", email=f"b{i}@x") for i in range(n_members)]
    )
    now = timezone.now()
    members = Member.objects.bulk_create(
        [
            Member(
                user=u,
                home_market=market,
                plan=plan,
                status=SubscriptionStatus.ACTIVE,
                credit_balance=100_000,
                cycle_anchor=now,
                cycle_started_at=now,
                next_renewal_at=now + timedelta(days=30),
                subscription_key="b",
            )
            for u in users
        ]
    )
    CreditEntry.objects.bulk_create(
        [
            CreditEntry(
                member=m,
                kind=CreditKind.GRANT,
                amount=100_000,
                balance_after=100_000,
                reference="cycle:b:0",
            )
            for m in members
        ]
    )
    seed_history(studios, types, members)
    with connection.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS bench_slot, bench_row")
        cur.execute(
            "CREATE TABLE bench_slot (id int PRIMARY KEY, used int NOT NULL, cap int NOT NULL)"
        )
        cur.execute(
            "CREATE TABLE bench_row (id bigserial PRIMARY KEY, slot int NOT NULL,"
            " who int NOT NULL, at timestamptz NOT NULL)"
        )
    return {
        "low": [s.pk for s in low],
        "hot": [s.pk for s in hot],
        "members": [m.pk for m in members],
    }


def seed_history(studios: list, types: list, members: list) -> None:
    """A month of attended classes before the run: HISTORY_VISITS reservations per member, each
    with its ledger entry, at 30 classes a day over 100 studios. A production database is never
    empty, and the planner's statistics, gathered once the world is seeded (harness.analyze),
    then describe tables with rows in them, not the empty ones a run starts with."""
    past = timezone.now() - timedelta(days=31)
    sessions = ClassSession.objects.bulk_create(
        [
            ClassSession(
                studio=studios[i % 100],
                class_type=types[i % 100],
                starts_at=past + timedelta(days=i // 100, minutes=i % 100),
                duration_minutes=45,
                capacity=30,
                network_spots=30,
                credit_price=1,
            )
            for i in range(HISTORY_CLASSES)
        ]
    )
    booked = [0] * len(sessions)
    reservations = []
    for i, member in enumerate(members):
        for j in range(HISTORY_VISITS):
            k = (i * HISTORY_VISITS + j) % len(sessions)
            booked[k] += 1
            session = sessions[k]
            reservations.append(
                Reservation(
                    member=member,
                    session=session,
                    studio_id=session.studio_id,
                    starts_at=session.starts_at,
                    credits_spent=1,
                    currency="GBP",
                    studio_payout_cents=1500,
                    status=ReservationStatus.ATTENDED,
                )
            )
    Reservation.objects.bulk_create(reservations, batch_size=5000)
    for session, n in zip(sessions, booked, strict=True):
        session.network_booked = n
    ClassSession.objects.bulk_update(sessions, ["network_booked"], batch_size=5000)
    CreditEntry.objects.bulk_create(
        [
            CreditEntry(
                member_id=r.member_id,
                kind=CreditKind.BOOKING,
                amount=-1,
                balance_after=0,
                reference=f"history:{r.pk}",
            )
            for r in reservations
        ],
        batch_size=5000,
    )
    Member.objects.filter(pk__in=[m.pk for m in members]).update(credit_balance=BALANCE)


def plan_ops(world: dict, scenario: str, ops: int) -> list[tuple[int, int]]:
    members = world["members"]
    if scenario == "low":
        sessions = world["low"]
        # Booking k: member k % M into class (k * 7) % 2000: unique pairs, little contention.
        return [(members[k % len(members)], sessions[(k * 7) % len(sessions)]) for k in range(ops)]
    # Booking k goes to hot class k % 5. Every member books each hot class once, and a member's
    # five bookings lie a fifth of the run apart: the contention is on the classes, as in a
    # rush for popular classes, not on one member booking five classes in the same instant.
    per_hot = ops // HOT_CLASSES
    spread = max(per_hot // HOT_CLASSES, 1)
    return [
        (
            members[(k // HOT_CLASSES + (k % HOT_CLASSES) * spread) % per_hot],
            world["hot"][k % HOT_CLASSES],
        )
        for k in range(per_hot * HOT_CLASSES)
    ]


def reset_slots(scenario: str, world: dict) -> None:
    rows = world["low"] if scenario == "low" else world["hot"]
    cap = 30 if scenario == "low" else 10**6
    with connection.cursor() as cur:
        cur.execute("TRUNCATE bench_slot, bench_row")
        cur.execute(
            "INSERT INTO bench_slot (id, used, cap) SELECT unnest(%s::int[]), 0, %s", [rows, cap]
        )


def booking_worker(jobs, start, queue):
    connection.close()
    Member.objects.first()  # connect before the start
    start.wait()
    latencies, outcomes = [], []
    now = timezone.now()
    for member_pk, session_pk in jobs:
        t = time.perf_counter()
        try:
            services.book(Member(pk=member_pk), session_pk, now=now)
            outcomes.append("ok")
        except BookingError as exc:
            outcomes.append(exc.code)
        latencies.append(time.perf_counter() - t)
    queue.put((latencies, outcomes, time.perf_counter()))


def ceiling_worker(jobs, start, queue):
    connection.close()
    Member.objects.first()
    start.wait()
    latencies, outcomes = [], []
    for member_pk, slot in jobs:
        t = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute(
                "UPDATE bench_slot SET used = used + 1 WHERE id = %s AND used < cap", [slot]
            )
            if cur.rowcount == 1:
                cur.execute(
                    "INSERT INTO bench_row (slot, who, at) VALUES (%s, %s, now())",
                    [slot, member_pk],
                )
                outcomes.append("ok")
            else:
                outcomes.append("full")
        latencies.append(time.perf_counter() - t)
    queue.put((latencies, outcomes, time.perf_counter()))


def orm_ceiling_worker(jobs, start, queue):
    """The same pair through the ORM: the floor cost of any Django write path."""
    from studios.models import OutboxMessage

    connection.close()
    Member.objects.first()
    start.wait()
    latencies, outcomes = [], []
    now = timezone.now()
    for member_pk, session_pk in jobs:
        t = time.perf_counter()
        with transaction.atomic():
            claimed = ClassSession.objects.filter(
                pk=session_pk, network_booked__lt=F("network_spots")
            ).update(network_booked=F("network_booked") + 1)
            if claimed:
                OutboxMessage.objects.create(handler="bench", args=[member_pk], available_at=now)
        outcomes.append("ok" if claimed else "full")
        latencies.append(time.perf_counter() - t)
    queue.put((latencies, outcomes, time.perf_counter()))


def check_invariants() -> str:
    over = ClassSession.objects.filter(
        Q(network_booked__gt=F("network_spots"))
        | Q(capacity__lt=F("network_booked") + F("premium_booked") + F("studio_booked"))
    ).count()
    mismatched = (
        ClassSession.objects.annotate(
            live=Count("reservations", filter=Q(reservations__status__in=LIVE_STATUSES))
        )
        .exclude(live=F("network_booked") + F("premium_booked"))
        .count()
    )
    ledger = sum(
        1
        for m in Member.objects.annotate(total=Sum("credit_entries__amount"))
        if m.credit_balance != (m.total or 0)
    )
    return f"overbooked={over} counter_mismatch={mismatched} ledger_mismatch={ledger}"


def clear_bookings() -> None:
    with connection.cursor() as cur:
        # The run's own rows; the month of history (seed_history) stays.
        cur.execute(
            "DELETE FROM members_creditentry WHERE kind = 'booking' AND reference NOT LIKE %s",
            ["history:%"],
        )
        cur.execute("DELETE FROM bookings_waitlistentry")
        cur.execute("DELETE FROM studios_outboxmessage")
        cur.execute("DELETE FROM bookings_reservation WHERE starts_at > now()")
        cur.execute(
            "UPDATE studios_classsession SET network_booked = 0, premium_booked = 0"
            " WHERE starts_at > now()"
        )
        cur.execute("UPDATE members_member SET credit_balance = %s", [BALANCE])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--ops", type=int, default=4000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    recreate_database()
    connection.close()
    world = setup_world(args.ops)
    analyze()
    results: dict[str, list] = {}
    for round_no in range(args.rounds):
        for scenario in ("low", "hot"):
            ops = plan_ops(world, scenario, args.ops)
            jobs = [ops[i :: args.processes] for i in range(args.processes)]
            reset_slots(scenario, world)
            connection.close()
            wall, lat, out = run_pool(ceiling_worker, jobs, args.processes)
            results.setdefault(f"ceiling/{scenario}", []).append((len(ops) / wall, lat, out))
            clear_bookings()
            connection.close()
            wall, lat, out = run_pool(orm_ceiling_worker, jobs, args.processes)
            results.setdefault(f"orm-pair/{scenario}", []).append((len(ops) / wall, lat, out))
            clear_bookings()
            connection.close()
            wall, lat, out = run_pool(booking_worker, jobs, args.processes)
            results.setdefault(f"booking/{scenario}", []).append((len(ops) / wall, lat, out))
            ok = out.count("ok")
            print(
                f"round {round_no + 1} {scenario}: {ok}/{len(out)} booked, {check_invariants()}",
                flush=True,
            )
    print()
    print(
        f"{'run':<14}{'ops/s':>9}{'p50 ms':>9}{'p99 ms':>9}"
        f"   (median of {args.rounds} rounds, {args.processes} processes)"
    )
    summary = {}
    for name, runs in results.items():
        rate = median([r[0] for r in runs])
        p50 = median([percentile(r[1], 50) * 1000 for r in runs])
        p99 = median([percentile(r[1], 99) * 1000 for r in runs])
        summary[name] = rate
        print(f"{name:<14}{rate:>9.0f}{p50:>9.2f}{p99:>9.2f}")
    for scenario in ("low", "hot"):
        booking = summary[f"booking/{scenario}"]
        print(
            f"{scenario}: booking/ceiling {booking / summary[f'ceiling/{scenario}']:.0%}, "
            f"booking/orm-pair {booking / summary[f'orm-pair/{scenario}']:.0%}"
        )


if __name__ == "__main__":
    main()
