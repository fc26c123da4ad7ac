"""Demo markets, studios, staff, class types, schedules and 12 weeks of sessions with history."""

import random
from datetime import time, timedelta
from functools import cache

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from .models import (
    ClassSession,
    ClassType,
    Instructor,
    Market,
    Schedule,
    StaffMembership,
    StaffRole,
    Studio,
)
from .services import generate_sessions

MARKETS = [
    # name, slug, tz, currency, credit value, late fee, missed fee, centre, streets, neighbourhoods
    (
        "New York",
        "new-york",
        "America/New_York",
        "USD",
        190,
        1000,
        1500,
        (40.7306, -73.9866),
        [
            "Broadway",
            "Bleecker St",
            "W 14th St",
            "Atlantic Ave",
            "Bedford Ave",
            "Lexington Ave",
            "Spring St",
        ],
        ["SoHo", "Chelsea", "Williamsburg", "Tribeca", "Flatiron", "Park Slope", "Harlem"],
    ),
    (
        "London",
        "london",
        "Europe/London",
        "GBP",
        150,
        800,
        1200,
        (51.5072, -0.1276),
        [
            "Shoreditch High St",
            "Kings Rd",
            "Upper St",
            "Brick Ln",
            "Marylebone High St",
            "Clapham High St",
        ],
        ["Shoreditch", "Chelsea", "Islington", "Brixton", "Marylebone", "Clapham"],
    ),
    (
        "Berlin",
        "berlin",
        "Europe/Berlin",
        "EUR",
        160,
        900,
        1300,
        (52.5200, 13.4050),
        [
            "Torstraße",
            "Kastanienallee",
            "Oranienstraße",
            "Bergmannstraße",
            "Kollwitzstraße",
            "Warschauer Str",
        ],
        ["Mitte", "Prenzlauer Berg", "Kreuzberg", "Neukölln", "Schöneberg", "Friedrichshain"],
    ),
]

CATALOG = {
    "yoga": [("Vinyasa Flow", 60), ("Yin Yoga", 75), ("Hot Power Yoga", 60)],
    "cycling": [("Rhythm Ride", 45), ("Endurance Ride", 60), ("Climb & Sprint", 45)],
    "pilates": [("Reformer Pilates", 50), ("Mat Pilates", 45)],
    "boxing": [("Boxing Fundamentals", 50), ("Bag Work Burn", 45)],
    "strength": [("Full Body Strength", 50), ("Barbell Club", 60)],
    "barre": [("Barre Sculpt", 50), ("Barre Burn", 45)],
    "hiit": [("HIIT Circuit", 45), ("Tabata Blast", 30)],
    "dance": [("Dance Cardio", 50), ("Hip Hop Basics", 60)],
    "running": [("Treadmill Intervals", 45)],
    "meditation": [("Guided Meditation", 30), ("Breathwork", 45)],
}
NAMES = {
    "yoga": ["Lotus House", "Sun Salutation", "Still Point", "Prana Loft", "Blue Mat"],
    "cycling": ["Spin Republic", "Cadence Club", "Tour Lab", "Pedal House"],
    "pilates": ["Core Studio", "Reform Rooms", "Pilates Place"],
    "boxing": ["Jab & Move", "Ringside", "Southpaw Club"],
    "strength": ["Iron Works", "Lift Society", "Forge"],
    "barre": ["Barre Belle", "Pointe Barre"],
    "hiit": ["Sweat Factory", "Burn Lab", "Fifty Minute Club"],
    "dance": ["Groove Room", "Step Up Dance"],
    "running": ["Stride House"],
    "meditation": ["Quiet Hour"],
}
FIRST = [
    "Ana",
    "Ben",
    "Chloe",
    "Dev",
    "Emma",
    "Femi",
    "Gus",
    "Hana",
    "Ivan",
    "Jade",
    "Kai",
    "Lena",
    "Mo",
    "Nia",
    "Omar",
    "Priya",
    "Quinn",
    "Rosa",
    "Sam",
    "Tara",
    "Uma",
    "Vic",
    "Wen",
    "Yara",
    "Zoe",
]
LAST = [
    "Adams",
    "Berg",
    "Costa",
    "Diaz",
    "Evans",
    "Fischer",
    "Garcia",
    "Hughes",
    "Ito",
    "Jones",
    "Khan",
    "Lopez",
    "Meyer",
    "Novak",
    "Okafor",
    "Patel",
    "Rossi",
    "Schmidt",
    "Tanaka",
    "Weber",
]
SLOTS = [
    time(6, 30),
    time(7, 30),
    time(9, 0),
    time(12, 15),
    time(17, 30),
    time(18, 30),
    time(19, 30),
]
WEEKDAY_SETS = [[0, 2, 4], [1, 3], [0, 1, 2, 3, 4], [5, 6], [0, 3, 5], [2, 4, 6]]
STUDIOS_PER_MARKET = 14
HISTORY_WEEKS = 8
AHEAD_WEEKS = 4


@cache
def demo_password_hash() -> str:
    return make_password(settings.DEMO_PASSWORD)


def demo_user(email: str, *, first_name: str = "", last_name: str = "", **extra):
    """Get or create a demo user with the demo password (hashed once, not per user)."""
    User = get_user_model()
    user, _ = User.objects.get_or_create(
        username=email,
        defaults={
            "email": email,
            "first_name": first_name,
            "last_name": last_name,
            "password": demo_password_hash(),
            **extra,
        },
    )
    return user


def seed(*, scale: int = 1, seed: int = 42) -> str:
    rng = random.Random(seed)
    today = timezone.localdate()
    demo_user(
        "admin@classpass.local",
        first_name="Ada",
        last_name="Admin",
        is_staff=True,
        is_superuser=True,
    )
    owner = demo_user(DEMO_OWNER, first_name="Olivia", last_name="Owner")
    manager = demo_user("manager@classpass.local", first_name="Marco", last_name="Manager")
    front = demo_user("frontdesk@classpass.local", first_name="Fran", last_name="Desk")
    categories = list(CATALOG)
    studios = 0
    for m_index, (
        name,
        slug,
        tz,
        currency,
        credit,
        late,
        missed,
        centre,
        streets,
        areas,
    ) in enumerate(MARKETS):
        market, _ = Market.objects.get_or_create(
            slug=slug,
            defaults={
                "name": name,
                "timezone": tz,
                "currency": currency,
                "credit_value_cents": credit,
                "late_cancel_fee_cents": late,
                "missed_class_fee_cents": missed,
            },
        )
        for i in range(STUDIOS_PER_MARKET * scale):
            category = categories[(i + m_index) % len(categories)]
            names = NAMES[category]
            base = names[(i // len(categories)) % len(names)]
            studio_name = f"{base} {areas[i % len(areas)]}" + (f" {i // 40 + 1}" if i >= 40 else "")
            studio_slug = f"{slug}-{i:03d}"
            with transaction.atomic():
                studio, created = Studio.objects.get_or_create(
                    slug=studio_slug,
                    defaults={
                        "market": market,
                        "name": studio_name,
                        "address": f"{rng.randint(1, 420)} {streets[i % len(streets)]}, {name}",
                        "latitude": round(centre[0] + rng.uniform(-0.04, 0.04), 6),
                        "longitude": round(centre[1] + rng.uniform(-0.06, 0.06), 6),
                        "description": f"{studio_name} is a {category} studio in {name}. "
                        "Friendly coaches, small classes, showers and mats included.",
                        "categories": [category]
                        + ([categories[(i + 3) % len(categories)]] if i % 3 == 0 else []),
                        "monthly_visit_limit": rng.choice([3, 3, 3, 4, 5]),
                        "cancellation_window_hours": rng.choice([12, 12, 24, 8]),
                        "payout_rate_cents": rng.choice([1200, 1400, 1500, 1600, 1800, 2000]),
                    },
                )
                if created:
                    _seed_studio(studio, rng=rng, today=today)
                    studio_owner = (
                        owner
                        if (m_index == 0 and i < 2)
                        else demo_user(
                            f"owner-{studio_slug}@demo.classpass.local",
                            first_name=rng.choice(FIRST),
                            last_name=rng.choice(LAST),
                        )
                    )
                    StaffMembership.objects.get_or_create(
                        user=studio_owner, studio=studio, defaults={"role": StaffRole.OWNER}
                    )
                    if m_index == 0 and i == 0:
                        StaffMembership.objects.get_or_create(
                            user=manager, studio=studio, defaults={"role": StaffRole.MANAGER}
                        )
                        StaffMembership.objects.get_or_create(
                            user=front, studio=studio, defaults={"role": StaffRole.FRONT_DESK}
                        )
            studios += 1
    created = generate_sessions(
        start=today - timedelta(weeks=HISTORY_WEEKS), weeks=HISTORY_WEEKS + AHEAD_WEEKS, past=True
    )
    filled = _fill_history(seed=seed)
    return (
        f"{len(MARKETS)} markets, {studios} studios, {created} new sessions, "
        f"{filled} past sessions filled"
    )


def _seed_studio(studio: Studio, *, rng: random.Random, today) -> None:
    types = []
    for category in studio.categories:
        for type_name, minutes in CATALOG[category]:
            types.append(
                ClassType.objects.create(
                    studio=studio,
                    name=type_name,
                    category=category,
                    duration_minutes=minutes,
                    description=f"A {minutes}-minute {category} class for every level.",
                )
            )
    instructors = [
        Instructor.objects.create(
            studio=studio,
            name=f"{rng.choice(FIRST)} {rng.choice(LAST)}",
            bio="Certified coach who loves a full room.",
        )
        for _ in range(rng.randint(2, 4))
    ]
    for slot in rng.sample(SLOTS, rng.randint(4, 6)):
        class_type = rng.choice(types)
        capacity = rng.choice([12, 14, 16, 20, 24, 30])
        # Most slots offer a share of the room; a few offer none (Premium only) or all of it.
        network = rng.choice(
            [0] + [round(capacity * share) for share in (0.3, 0.4, 0.5, 0.5, 0.6, 0.75)]
        )
        peak = slot.hour in (7, 17, 18)
        Schedule.objects.create(
            studio=studio,
            class_type=class_type,
            instructor=rng.choice(instructors),
            weekdays=rng.choice(WEEKDAY_SETS),
            local_start_time=slot,
            duration_minutes=class_type.duration_minutes,
            capacity=capacity,
            network_spots=network,
            credit_price=rng.randint(5, 9)
            + (3 if peak else 0)
            + (2 if class_type.category in ("pilates", "cycling") else 0),
            starts_on=today - timedelta(weeks=HISTORY_WEEKS),
        )


DEMO_OWNER = "owner@classpass.local"


def demo_owner_studios():
    return Studio.objects.filter(staff__user__username=DEMO_OWNER).order_by("pk")


def demo_owner_hot_slots() -> set[int]:
    """One schedule at each of the demo owner's studios whose classes sell out on the network
    week after week while the room has space: the one with network spots and the most room
    beyond them. Their history is what SmartSpot's past releases, and the Premium sold when the
    network was full, are made of (premium/demo.py)."""
    hot = set()
    for studio in demo_owner_studios():
        slot = (
            Schedule.objects.filter(studio=studio, network_spots__gt=0)
            .annotate(beyond=F("capacity") - F("network_spots"))
            .filter(beyond__gt=0)
            .order_by("-beyond", "pk")
            .first()
        )
        if slot is not None:
            hot.add(slot.pk)
    return hot


def slot_popularity(seed: int, schedule_id: int | None) -> float:
    """How much demand a demo slot draws, 0..1, skewed: a few slots are very popular."""
    return random.Random(seed + (schedule_id or 0)).random() ** 2


def _fill_history(*, seed: int) -> int:
    """Past classes get the studio's own bookings; network bookings come from the bookings demo."""
    now = timezone.now()
    past = ClassSession.objects.filter(
        starts_at__lt=now, studio_booked=0, capacity__gt=F("network_spots")
    )
    batch, total = [], 0
    for session in past.only("id", "schedule_id", "capacity", "network_spots").iterator(
        chunk_size=2000
    ):
        rng = random.Random(seed * 1_000_003 + session.id)
        room = session.capacity - session.network_spots
        session.studio_booked = max(
            1,
            round(
                room
                * (0.2 + 0.6 * slot_popularity(seed, session.schedule_id))
                * rng.uniform(0.8, 1.1)
            ),
        )
        session.studio_booked = min(room, session.studio_booked)
        batch.append(session)
        if len(batch) >= 2000:
            total += ClassSession.objects.bulk_update(batch, ["studio_booked"])
            batch.clear()
    if batch:
        total += ClassSession.objects.bulk_update(batch, ["studio_booked"])
    return total
