"""Read queries of the member website and the API: search, class and studio pages, schedules."""

from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from functools import cache

from django.conf import settings
from django.db.models import (
    Case,
    Count,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    When,
)
from django.db.models.functions import Coalesce, ExtractHour, TruncWeek
from django.utils import timezone
from django.utils.module_loading import import_string

from marketing import selectors as marketing
from marketing.models import SpotlightCampaign
from members.models import Member
from members.selectors import saved_studio_ids
from studios.models import ClassSession, EarningEntry, Market, SessionStatus, Studio
from studios.services import local_to_utc

from .models import (
    LIVE_STATUSES,
    Reservation,
    ReservationKind,
    ReservationStatus,
    WaitlistEntry,
    WaitlistStatus,
)
from .offers import BookingContext

TIMES_OF_DAY = {
    "morning": (time(0), time(12)),
    "afternoon": (time(12), time(17)),
    "evening": (time(17), None),
}


@dataclass(frozen=True)
class SearchFilters:
    day: date
    time_of_day: str = ""
    category: str = ""
    studio: str = ""
    min_credits: int | None = None
    max_credits: int | None = None
    min_money_cents: int | None = None  # à la carte's price, for members without a plan
    max_money_cents: int | None = None
    q: str = ""
    saved_by: int | None = None  # a member's id: only the studios they saved


def local_today(market: Market) -> date:
    return timezone.localtime(timezone.now(), market.tzinfo).date()


def booking_days(market: Market) -> list[date]:
    """The day strip: today and the days of the booking window, studio-local."""
    today = local_today(market)
    return [today + timedelta(days=n) for n in range(market.booking_window_days + 1)]


@cache
def _session_annotations() -> list:
    return [import_string(path) for path in settings.SESSION_ANNOTATIONS]


def _annotated(qs: QuerySet[ClassSession]) -> QuerySet[ClassSession]:
    """`qs` with what other apps annotate on class sessions (settings.SESSION_ANNOTATIONS:
    Premium's `premium_cap` and `premium_credits`), and `shown_credits`, in the same statement.

    `shown_credits` is the price a list row shows and the search's credit range reads: the
    class's own, or where only Premium spots are left (spots_label()'s 'Premium': the network's
    spots taken, the room not full, the studio's Premium cap not reached), Premium's."""
    for annotations in _session_annotations():
        qs = qs.annotate(**annotations())
    if "premium_credits" not in qs.query.annotations:
        return qs.annotate(shown_credits=F("credit_price"))
    only_premium = Q(
        network_booked__gte=F("network_spots"),
        room_left__gt=0,
        premium_cap__gt=F("premium_booked"),
    )
    return qs.alias(
        room_left=F("capacity") - F("studio_booked") - F("network_booked") - F("premium_booked")
    ).annotate(
        shown_credits=Case(
            When(only_premium, then=F("premium_credits")),
            default=F("credit_price"),
            output_field=IntegerField(),
        )
    )


def _sessions() -> QuerySet[ClassSession]:
    """Class sessions for the member pages and the API, annotated (`_annotated`)."""
    return _annotated(
        ClassSession.objects.select_related("studio__market", "class_type", "instructor")
    )


def _offered(qs: QuerySet[ClassSession]) -> QuerySet[ClassSession]:
    """The classes a member could book: those with network spots, or with Premium spots where
    the studio sells them (an annotated `qs`). A class that offers neither is the studio's own
    business: listed, it would only ever say 'Sold out'."""
    offered = Q(network_spots__gt=0)
    if "premium_cap" in qs.query.annotations:
        offered |= Q(premium_cap__gt=0)
    return qs.filter(offered)


def search_sessions(
    market: Market, filters: SearchFilters, *, now: datetime | None = None
) -> QuerySet[ClassSession]:
    """Upcoming, scheduled classes of one market on one local day, filtered. One query."""
    now = now or timezone.now()
    tz = market.tzinfo
    start, end = TIMES_OF_DAY.get(filters.time_of_day, (time(0), None))
    day_start = local_to_utc(filters.day, start, tz)
    day_end = (
        local_to_utc(filters.day, end, tz)
        if end
        else local_to_utc(filters.day + timedelta(days=1), time(0), tz)
    )
    qs = _bookable_in(_sessions(), market, max(day_start, now), day_end)
    return _matching(qs, filters).order_by("starts_at", "pk")


def next_matching_day(
    market: Market, filters: SearchFilters, *, last_day: date, now: datetime | None = None
) -> date | None:
    """The first day after `filters.day`, up to `last_day`, with a class the same filters find
    (at the same time of day, studio-local). One query: what an empty search day offers."""
    now = now or timezone.now()
    tz = market.tzinfo
    qs = _bookable_in(
        _annotated(ClassSession.objects.all()),
        market,
        max(local_to_utc(filters.day + timedelta(days=1), time(0), tz), now),
        local_to_utc(last_day + timedelta(days=1), time(0), tz),
    )
    if filters.time_of_day in TIMES_OF_DAY:
        start, end = TIMES_OF_DAY[filters.time_of_day]
        qs = qs.annotate(local_hour=ExtractHour("starts_at", tzinfo=tz)).filter(
            local_hour__gte=start.hour, local_hour__lt=end.hour if end else 24
        )
    first = _matching(qs, filters).order_by("starts_at").values_list("starts_at", flat=True)[:1]
    return next((timezone.localtime(at, tz).date() for at in first), None)


def _bookable_in(
    qs: QuerySet[ClassSession], market: Market, start: datetime, end: datetime
) -> QuerySet[ClassSession]:
    """The scheduled classes offered to members (`_offered`) of the market's active studios,
    starting in [start, end)."""
    return _offered(
        qs.filter(
            studio__market=market,
            studio__is_active=True,
            status=SessionStatus.SCHEDULED,
            starts_at__gte=start,
            starts_at__lt=end,
        )
    )


def _matching(qs: QuerySet[ClassSession], filters: SearchFilters) -> QuerySet[ClassSession]:
    """The search's filters besides the day and the time of day."""
    if filters.category:
        qs = qs.filter(class_type__category=filters.category)
    if filters.studio:
        qs = qs.filter(studio__slug=filters.studio)
    if filters.saved_by is not None:
        qs = qs.filter(studio_id__in=saved_studio_ids(filters.saved_by))
    if filters.min_credits is not None:
        qs = qs.filter(shown_credits__gte=filters.min_credits)
    if filters.max_credits is not None:
        qs = qs.filter(shown_credits__lte=filters.max_credits)
    if filters.min_money_cents is not None or filters.max_money_cents is not None:
        if "a_la_carte_cents" not in qs.query.annotations:
            return qs.none()  # nothing is sold for money
        if filters.min_money_cents is not None:
            qs = qs.filter(a_la_carte_cents__gte=filters.min_money_cents)
        if filters.max_money_cents is not None:
            qs = qs.filter(a_la_carte_cents__lte=filters.max_money_cents)
    if filters.q:
        qs = qs.filter(
            Q(class_type__name__icontains=filters.q)
            | Q(studio__name__icontains=filters.q)
            | Q(instructor__name__icontains=filters.q)
            | Q(class_type__category__icontains=filters.q)
        )
    return qs


def premium_left(session: ClassSession) -> int:
    """Premium spots left, by the studio's cap that `_sessions()` annotates."""
    return session.premium_left(getattr(session, "premium_cap", 0))


def spots_label(session: ClassSession) -> str:
    """What a search row says about availability: standard spots on the network, else Premium
    spots the room still has (bookable now, for more), else the waitlist. `session` comes from
    `_sessions()`, which annotates the studio's Premium cap."""
    if session.standard_left > 0:
        return f"{session.standard_left} left"
    if premium_left(session) > 0:
        return "Premium"
    if session.network_spots > 0 and session.starts_at > timezone.now():
        return "Waitlist"
    return "Sold out"


@dataclass(frozen=True)
class RowPrice:
    """What a list row (search, Spotlight, studio page, home page) shows: a price, in credits
    or, where `money_cents` is set, in the market's money, and the availability badge beside
    it."""

    credits: int
    money_cents: int | None
    spots: str


@dataclass(frozen=True)
class Visits:
    """What list rows need of a member's live reservations: the classes they are booked into,
    and with a plan, their standard visits per (studio id, in the next cycle) for the monthly
    limit."""

    counts: dict[tuple[int, bool], int]
    booked: frozenset[int]


NO_VISITS = Visits({}, frozenset())


def member_visits(member: Member | None) -> Visits:
    """`member`'s Visits. The standard visits are counted as the engine counts them against a
    studio's monthly limit (sql.fetch_member_context): a class that starts before the renewal
    counts in the current cycle, one that starts from it in the next. One query, of the
    member's live reservations from the start of their cycle (without a plan, from now);
    none for a visitor."""
    if member is None:
        return NO_VISITS
    now = timezone.now()
    plan = member.has_active_plan and member.next_renewal_at is not None
    counts: dict[tuple[int, bool], int] = {}
    booked = set()
    for session_id, studio_id, kind, starts_at in Reservation.objects.filter(
        member=member,
        status__in=LIVE_STATUSES,
        starts_at__gte=min(member.cycle_started_at or now, now) if plan else now,
    ).values_list("session_id", "studio_id", "kind", "starts_at"):
        booked.add(session_id)
        if plan and kind == ReservationKind.STANDARD:
            key = (studio_id, starts_at >= member.next_renewal_at)
            counts[key] = counts.get(key, 0) + 1
    return Visits(counts, frozenset(booked))


def at_limit(session: ClassSession, member: Member | None, visits: Visits) -> bool:
    """Whether `member` has used the studio's monthly visits in the cycle the class falls in
    (`visits` from member_visits()), for a class they are not booked into already: the limit
    is for booking more."""
    if not visits.counts or session.pk in visits.booked:
        return False
    key = (session.studio_id, session.starts_at >= member.next_renewal_at)
    return visits.counts.get(key, 0) >= session.studio.monthly_visit_limit


def row_price(
    session: ClassSession, member: Member | None, *, limit_reached=False, booked=False
) -> RowPrice:
    """The price a row shows `member` (None: a visitor not logged in) and its badge, as the
    class page's headline() does. A member without an active plan can only buy the class à
    la carte, in money, from the Premium spots: its price and those spots, or 'Plan only'
    where the studio sells no single classes. A member who has used the studio's monthly
    visits (`limit_reached`) can only book Premium: its price, or 'Limit reached' where no
    Premium spot is left. Everyone else: `shown_credits` and spots_label(). A class the
    member is `booked` into says 'Booked'. `session` comes from `_sessions()`."""
    row = _row_price(session, member, limit_reached)
    return replace(row, spots="Booked") if booked else row


def pays_money(member: Member | None) -> bool:
    """Whether `member` (None: a visitor) can only buy classes à la carte, and so sees, and
    filters by, prices in money."""
    return member is not None and not member.has_active_plan


def _row_price(session: ClassSession, member: Member | None, limit_reached: bool) -> RowPrice:
    if pays_money(member):
        cents = getattr(session, "a_la_carte_cents", None)
        if cents is None:
            return RowPrice(session.shown_credits, None, "Plan only")
        left = premium_left(session)
        return RowPrice(session.shown_credits, cents, f"{left} left" if left > 0 else "Sold out")
    if member is not None and limit_reached:
        if premium_left(session) > 0:
            return RowPrice(session.premium_credits, None, "Premium")
        return RowPrice(session.shown_credits, None, "Limit reached")
    return RowPrice(session.shown_credits, None, spots_label(session))


def with_row_prices(sessions, member: Member | None, visits: Visits) -> list[ClassSession]:
    """`sessions`, each with `row`, the row_price() `member` sees (`visits` from
    member_visits()). No query."""
    sessions = list(sessions)
    for session in sessions:
        session.row = row_price(
            session,
            member,
            limit_reached=at_limit(session, member, visits),
            booked=session.pk in visits.booked,
        )
    return sessions


def headline(ctx: BookingContext, offers: list) -> tuple:
    """The offer whose price the top of the class page shows instead of the standard one (or
    None), and the availability badge beside it: a price the visitor can book at, as the row
    they came from shows it (row_price(), with the booking context's limit and booking).
    Where only Premium spots are left, or the member has used the studio's monthly visits,
    Premium's, not a standard price they cannot book at; for someone without a plan, à la
    carte's. The limit is for booking more: a class the member is in is exempt."""
    session, member = ctx.session, ctx.member
    limit_reached = ctx.has_active_plan and ctx.limit_reached and not ctx.already_booked
    row = _row_price(session, member, limit_reached)
    spots = "Booked" if ctx.already_booked else row.spots
    if pays_money(member):
        kind = ReservationKind.A_LA_CARTE
    elif row.spots == "Premium":
        kind = ReservationKind.PREMIUM
    else:
        return None, spots
    return next((o for o in offers if o.kind == kind), None), spots


def session_for_page(session_id: int) -> ClassSession | None:
    return _sessions().filter(pk=session_id).first()


def studio_by_slug(slug: str) -> Studio | None:
    return Studio.objects.select_related("market").filter(slug=slug, is_active=True).first()


def upcoming_for_studio(studio: Studio, *, days: int = 7, limit: int = 60) -> list[ClassSession]:
    now = timezone.now()
    return list(
        _offered(_sessions())
        .filter(
            studio=studio,
            status=SessionStatus.SCHEDULED,
            starts_at__gte=now,
            starts_at__lt=now + timedelta(days=days),
        )
        .order_by("starts_at")[:limit]
    )


def member_reservation(member: Member | None, session: ClassSession) -> Reservation | None:
    if member is None:
        return None
    return Reservation.objects.filter(
        member=member, session=session, status__in=LIVE_STATUSES
    ).first()


def waiting_entry(member: Member | None, session: ClassSession) -> WaitlistEntry | None:
    if member is None:
        return None
    return _with_position(
        WaitlistEntry.objects.filter(member=member, session=session, status=WaitlistStatus.WAITING)
    ).first()


def _with_position(entries: QuerySet[WaitlistEntry]) -> QuerySet[WaitlistEntry]:
    ahead = (
        WaitlistEntry.objects.filter(
            session=OuterRef("session"),
            status=WaitlistStatus.WAITING,
            created_at__lte=OuterRef("created_at"),
        )
        .order_by()
        .values("session")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return entries.annotate(position=Subquery(ahead))


def held_reservation(member: Member, public_id) -> Reservation | None:
    return (
        Reservation.objects.filter(member=member, public_id=public_id)
        .select_related("session__studio__market", "session__class_type")
        .first()
    )


def upcoming_reservations(member: Member) -> QuerySet[Reservation]:
    return (
        Reservation.objects.filter(
            member=member,
            status__in=[ReservationStatus.BOOKED, ReservationStatus.HELD],
            starts_at__gte=timezone.now(),
        )
        .select_related("session__studio__market", "session__class_type", "session__instructor")
        .order_by("starts_at")
    )


def past_reservations(member: Member) -> QuerySet[Reservation]:
    now = timezone.now()
    return (
        Reservation.objects.filter(member=member)
        .filter(Q(starts_at__lt=now) | ~Q(status=ReservationStatus.BOOKED))
        .select_related("session__studio__market", "session__class_type", "session__instructor")
        .order_by("-starts_at", "-pk")
    )


def waiting_entries(member: Member) -> QuerySet[WaitlistEntry]:
    return _with_position(
        WaitlistEntry.objects.filter(
            member=member, status=WaitlistStatus.WAITING, session__starts_at__gte=timezone.now()
        ).select_related("session__studio__market", "session__class_type")
    ).order_by("session__starts_at")


def calendar_reservations(member: Member) -> QuerySet[Reservation]:
    since = timezone.now() - timedelta(days=30)
    return (
        Reservation.objects.filter(member=member, status__in=LIVE_STATUSES, starts_at__gte=since)
        .select_related("session__studio__market", "session__class_type", "session__instructor")
        .order_by("starts_at")
    )


# --- Partner Dashboard (the studio comes first) ---------------------------------------------


def reservation_for_studio(studio: Studio, reservation_id: int) -> Reservation | None:
    return Reservation.objects.filter(studio=studio, pk=reservation_id).first()


def sessions_on_day(studio: Studio, day: date) -> list[ClassSession]:
    """The studio's classes on one day of its city's calendar, cancelled ones included."""
    tz = studio.market.tzinfo
    start, end = (
        local_to_utc(day, time(0), tz),
        local_to_utc(day + timedelta(days=1), time(0), tz),
    )
    return list(
        ClassSession.objects.filter(studio=studio, starts_at__gte=start, starts_at__lt=end)
        .select_related("class_type", "instructor")
        .order_by("starts_at")
    )


def roster(studio: Studio, session: ClassSession) -> list[Reservation]:
    """Every reservation of a class with the member's visits at this studio, in one query."""
    visits = Reservation.objects.filter(
        studio=studio, member=OuterRef("member"), status__in=LIVE_STATUSES
    ).order_by()
    cycle = visits.filter(
        starts_at__gte=OuterRef("member__cycle_started_at"),
        starts_at__lt=OuterRef("member__next_renewal_at"),
    )

    def count(qs):
        return Coalesce(Subquery(qs.values("member").annotate(n=Count("pk")).values("n")), 0)

    return list(
        Reservation.objects.filter(studio=studio, session=session)
        .select_related("member__user")
        .annotate(visits_total=count(visits), visits_cycle=count(cycle))
        .order_by("status", "member__user__last_name", "member__user__email")
    )


@dataclass(frozen=True)
class MonthFigures:
    visits: int  # this month's classes that have started
    visits_before: int  # last month's
    booked_ahead: int  # this month's classes still to come
    earnings_cents: int
    earnings_before_cents: int


def month_figures(studio: Studio) -> MonthFigures:
    """This month's visits and earnings against last month's, studio-local months, and the
    bookings for the rest of this month. A visit is a live reservation of a class that has
    started, as in weekly_history; a booking of a class to come is not a visit yet. Two
    queries."""
    tz = studio.market.tzinfo
    now = timezone.now()
    today = timezone.localtime(now, tz).date()
    this_start = today.replace(day=1)
    last_start = (this_start - timedelta(days=1)).replace(day=1)
    next_start = (this_start + timedelta(days=31)).replace(day=1)
    this_from, last_from, next_from = (
        local_to_utc(this_start, time(0), tz),
        local_to_utc(last_start, time(0), tz),
        local_to_utc(next_start, time(0), tz),
    )
    visits = Reservation.objects.filter(
        studio=studio, status__in=LIVE_STATUSES, starts_at__gte=last_from, starts_at__lt=next_from
    ).aggregate(
        now=Count("pk", filter=Q(starts_at__gte=this_from, starts_at__lte=now)),
        before=Count("pk", filter=Q(starts_at__lt=this_from)),
        ahead=Count("pk", filter=Q(starts_at__gt=now)),
    )
    money = EarningEntry.objects.filter(studio=studio, occurred_at__gte=last_from).aggregate(
        now=Sum("amount_cents", filter=Q(occurred_at__gte=this_from)),
        before=Sum("amount_cents", filter=Q(occurred_at__lt=this_from)),
    )
    return MonthFigures(
        visits["now"],
        visits["before"],
        visits["ahead"],
        money["now"] or 0,
        money["before"] or 0,
    )


def weekly_history(studio: Studio, *, weeks: int = 12) -> list[tuple[date, int, int]]:
    """(week start, visits, earnings) for the last `weeks` weeks, studio-local. Two queries."""
    tz = studio.market.tzinfo
    today = timezone.localtime(timezone.now(), tz).date()
    first = today - timedelta(days=today.weekday(), weeks=weeks - 1)
    since = local_to_utc(first, time(0), tz)
    visits = dict(
        Reservation.objects.filter(
            studio=studio,
            status__in=LIVE_STATUSES,
            starts_at__gte=since,
            starts_at__lte=timezone.now(),
        )
        .annotate(week=TruncWeek("starts_at", tzinfo=tz))
        .values("week")
        .annotate(n=Count("pk"))
        .values_list("week", "n")
    )
    money = dict(
        EarningEntry.objects.filter(studio=studio, occurred_at__gte=since)
        .annotate(week=TruncWeek("occurred_at", tzinfo=tz))
        .values("week")
        .annotate(total=Sum("amount_cents"))
        .values_list("week", "total")
    )

    def key(rows: dict) -> dict:
        return {(w.date() if isinstance(w, datetime) else w): v for w, v in rows.items()}

    visits, money = key(visits), key(money)
    return [
        (
            first + timedelta(weeks=n),
            visits.get(first + timedelta(weeks=n), 0),
            money.get(first + timedelta(weeks=n), 0),
        )
        for n in range(weeks)
    ]


# --- Spotlight placements (marketing decides who; search decides which class) ---------------


@dataclass(frozen=True)
class Placement:
    campaign_id: int
    session: ClassSession
    row: RowPrice  # the price and spots the placement shows the viewer (row_price())


def open_to(session: ClassSession, member: Member | None, visits: Visits) -> bool:
    """Whether `member` (None: a visitor not logged in) could book a spot of a row now: one of
    the network's, or for a member without a plan, a Premium spot to buy à la carte, or for
    one who has used the studio's monthly visits, a Premium spot; not a class they are in."""
    if session.pk in visits.booked:
        return False
    if pays_money(member):
        return getattr(session, "a_la_carte_cents", None) is not None and premium_left(session) > 0
    if at_limit(session, member, visits):
        return premium_left(session) > 0
    return session.standard_left > 0


def spotlight_placements(
    market: Market,
    filters: SearchFilters,
    matching: QuerySet,
    *,
    seed: int,
    member: Member | None = None,
    visits: Visits = NO_VISITS,
) -> list[Placement]:
    """At most 3 Spotlight studios' next matching class that `member` could book now
    (open_to(); `visits` from member_visits()): for a member without a plan, one sold à la
    carte. Two queries."""
    campaigns = [
        c
        for c in marketing.live_campaigns(market, filters.day)
        if c.covers(filters.category) and (not filters.studio or c.studio.slug == filters.studio)
    ]
    if not campaigns:
        return []
    best: dict[int, SpotlightCampaign] = {}
    for campaign in campaigns:  # one campaign a studio: the one paying most
        if (
            campaign.studio_id not in best
            or campaign.daily_fee_cents > best[campaign.studio_id].daily_fee_cents
        ):
            best[campaign.studio_id] = campaign
    first: dict[int, ClassSession] = {}
    for session in matching.filter(studio_id__in=best).order_by("studio_id", "starts_at"):
        if session.studio_id not in first and open_to(session, member, visits):
            first[session.studio_id] = session
    chosen = marketing.rotate([c for s, c in best.items() if s in first], seed=seed)
    placed = with_row_prices([first[c.studio_id] for c in chosen], member, visits)
    return [Placement(c.pk, s, s.row) for c, s in zip(chosen, placed, strict=True)]


def spotlight_campaign_of(campaign_id: int, session_id: int) -> bool:
    """Whether the campaign is the class's studio's (so a booking may be credited to it)."""
    return SpotlightCampaign.objects.filter(
        pk=campaign_id, studio__sessions__pk=session_id
    ).exists()
