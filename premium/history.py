"""What past classes tell about a slot: fill, empties at start, late cancels and no-shows.

Three levels, each from grouped queries over the last weeks: the slot (its schedule), the
studio, and the class category across the market. A forecast uses the most specific level
with enough samples (docs/scans.md).
"""

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

from django.db.models import Count, F, Q, Sum

from bookings.models import Reservation, ReservationStatus
from studios.models import ClassSession, SessionStatus

HISTORY_WEEKS = 8
MIN_SAMPLES = 3


@dataclass
class Stats:
    """Sums over past classes; means are per class."""

    classes: int = 0
    empty: int = 0  # places empty at start: room left at the end plus no-shows
    spots: int = 0  # network spots offered
    booked: int = 0  # network spots taken at the end
    late_cancels: int = 0
    no_shows: int = 0

    def add(self, other: "Stats") -> None:
        for name in ("classes", "empty", "spots", "booked", "late_cancels", "no_shows"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def mean_empty(self) -> float:
        return self.empty / self.classes if self.classes else 0.0

    @property
    def fill(self) -> float:
        """Share of network spots sold, over the history."""
        return self.booked / self.spots if self.spots else 0.0

    def as_inputs(self, level: str) -> dict:
        return {
            "level": level,
            "classes": self.classes,
            "mean_empty": round(self.mean_empty, 3),
            "network_fill": round(self.fill, 3),
            "late_cancels_per_class": round(self.late_cancels / self.classes, 3)
            if self.classes
            else 0,
            "no_shows_per_class": round(self.no_shows / self.classes, 3) if self.classes else 0,
        }


@dataclass
class History:
    by_schedule: dict[int, Stats] = field(default_factory=lambda: defaultdict(Stats))
    by_studio: dict[int, Stats] = field(default_factory=lambda: defaultdict(Stats))
    by_category: dict[str, Stats] = field(default_factory=lambda: defaultdict(Stats))

    def best(self, *, schedule_id: int | None, studio_id: int, category: str) -> tuple[str, Stats]:
        """The most specific level with enough classes behind it."""
        for level, stats in (
            ("slot", self.by_schedule.get(schedule_id) if schedule_id else None),
            ("studio", self.by_studio.get(studio_id)),
            ("category", self.by_category.get(category)),
        ):
            if stats is not None and stats.classes >= MIN_SAMPLES:
                return level, stats
        return "none", Stats()


def load(
    market_id: int,
    studio_ids: list[int],
    *,
    now: datetime,
    categories: dict[str, Stats] | None = None,
) -> History:
    """Two grouped queries for the studios' slots, and two for the market's categories unless
    `categories` brings them (a scan run reads those once for all its chunks)."""
    since = now - timedelta(weeks=HISTORY_WEEKS)
    history = History()
    # By slot and studio: the classes with no schedule (one-offs) are a slot of each studio.
    marks = _marks_by(
        _gone(since, now).filter(studio_id__in=studio_ids), ["session__schedule_id", "studio_id"]
    )
    for row in _session_rows(
        _past(since, now).filter(studio_id__in=studio_ids), ["schedule_id", "studio_id"]
    ):
        stats = _stats_of(row, marks.get((row["schedule_id"], row["studio_id"]), NO_MARKS))
        if row["schedule_id"]:
            history.by_schedule[row["schedule_id"]].add(stats)
        history.by_studio[row["studio_id"]].add(stats)
    if categories is None:
        categories = by_category([market_id], now=now).get(market_id, {})
    history.by_category.update(categories)
    return history


def by_category(market_ids: list[int], *, now: datetime) -> dict[int, dict[str, Stats]]:
    """Each market's history by class category, from two grouped queries for all the markets."""
    since = now - timedelta(weeks=HISTORY_WEEKS)
    market, category = "studio__market_id", "class_type__category"
    marks = _marks_by(
        _gone(since, now).filter(studio__market_id__in=market_ids),
        [market, "session__class_type__category"],
    )
    out: dict[int, dict[str, Stats]] = defaultdict(dict)
    for row in _session_rows(
        _past(since, now).filter(studio__market_id__in=market_ids), [market, category]
    ):
        key = (row[market], row[category])
        out[row[market]][row[category]] = _stats_of(row, marks.get(key, NO_MARKS))
    return dict(out)


def to_json(categories: dict[int, dict[str, Stats]]) -> dict:
    return {
        str(market_id): {category: asdict(stats) for category, stats in stats_by.items()}
        for market_id, stats_by in categories.items()
    }


def from_json(data: dict | None) -> dict[str, Stats] | None:
    """One market's categories as to_json wrote them; None when the run has none stored."""
    if data is None:
        return None
    return {category: Stats(**fields) for category, fields in data.items()}


MARKS = {
    "late": Count("pk", filter=Q(status=ReservationStatus.LATE_CANCELLED)),
    "missed": Count("pk", filter=Q(status=ReservationStatus.MISSED)),
}
NO_MARKS = {"late": 0, "missed": 0}


def _past(since: datetime, now: datetime):
    return ClassSession.objects.filter(
        starts_at__gte=since, starts_at__lt=now, status=SessionStatus.SCHEDULED
    )


def _gone(since: datetime, now: datetime):
    return Reservation.objects.filter(starts_at__gte=since, starts_at__lt=now)


def _session_rows(qs, keys: list[str]):
    empty = F("capacity") - F("studio_booked") - F("network_booked") - F("premium_booked")
    return (
        qs.values(*keys)
        .annotate(
            n=Count("pk"),
            left=Sum(empty),
            spots=Sum("network_spots"),
            booked=Sum("network_booked"),
        )
        .order_by()
    )


def _marks_by(qs, keys: list[str]) -> dict[tuple, dict]:
    """Late cancellations and no-shows per combination of the `keys`' values."""
    return {
        tuple(row[key] for key in keys): row
        for row in qs.values(*keys).annotate(**MARKS).order_by()
    }


def _stats_of(row: dict, extra: dict) -> Stats:
    # A no-show leaves an empty spot that the counters still count as booked.
    left = row["left"] + extra["missed"]
    return Stats(row["n"], left, row["spots"], row["booked"], extra["late"], extra["missed"])
