"""Partner Dashboard pages of the bookings app: overview, rosters and check-in, cancelling."""

from datetime import date, timedelta

from django.conf import settings
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from studios import charts
from studios import selectors as studio_selectors
from studios.partner import partner_required
from studios.templatetags.money import format_money

from . import selectors, services
from .errors import BookingError

# How far the overview's day list reaches either side of today: a year of rosters back (a
# dispute about a visit, a no-show to mark the morning after) and a year of classes ahead.
DAY_REACH = timedelta(days=366)


def _day(request, today: date) -> date:
    """?day=YYYY-MM-DD within DAY_REACH of today; anything else is today."""
    try:
        day = date.fromisoformat(request.GET.get("day", ""))
    except ValueError:
        return today
    return day if abs(day - today) <= DAY_REACH else today


@partner_required("overview")
def overview(request, studio):
    currency = studio.market.currency
    history = selectors.weekly_history(studio)
    today = timezone.localtime(timezone.now(), studio.market.tzinfo).date()
    day = _day(request, today)
    one = timedelta(days=1)
    return render(
        request,
        "bookings/partner/overview.html",
        {
            "studio": studio,
            "day": day,
            "today": today,
            "offset": (day - today).days,
            "previous": day - one if today - (day - one) <= DAY_REACH else None,
            "following": day + one if (day + one) - today <= DAY_REACH else None,
            "earliest": today - DAY_REACH,
            "latest": today + DAY_REACH,
            "sessions": selectors.sessions_on_day(studio, day),
            "figures": selectors.month_figures(studio) if request.partner.can["reports"] else None,
            "earned_after_hours": int(settings.ATTENDANCE_DEFAULT_AFTER.total_seconds() // 3600),
            "visits_chart": charts.bar_chart(
                "Visits per week", [(f"{w:%-d %b}", v) for w, v, _ in history]
            ),
            "earnings_chart": charts.bar_chart(
                "Earnings per week",
                [(f"{w:%-d %b}", m) for w, _, m in history],
                fmt=lambda cents: format_money(cents, currency),
            )
            if request.partner.can["reports"]
            else None,
        },
    )


@partner_required("roster")
def roster(request, studio, session_id: int):
    session = studio_selectors.session_for_studio(studio, session_id)
    if session is None:
        raise Http404("No such class.")
    now = timezone.now()
    opens_at = services.check_in_opens_at(session)
    return render(
        request,
        "bookings/partner/roster.html",
        {
            "studio": studio,
            "session": session,
            "rows": selectors.roster(studio, session),
            "cancellable": services.session_cancellable(session, now),
            # The buttons show when the engine would take them, not to be refused.
            "check_in_open": now >= opens_at,
            "check_in_opens_at": opens_at,
            "started": now >= session.starts_at,
        },
    )


ACTIONS = {
    "check_in": services.mark_attended,
    "missed": services.mark_missed,
    "undo": services.undo_mark,
}
DONE = {"check_in": "checked in", "missed": "marked as a no-show", "undo": "back to booked"}


@partner_required("check_in")
@require_POST
def roster_action(request, studio, session_id: int, reservation_id: int, action: str):
    reservation = selectors.reservation_for_studio(studio, reservation_id)
    if reservation is None or reservation.session_id != session_id or action not in ACTIONS:
        raise Http404("No such reservation.")
    try:
        ACTIONS[action](reservation.pk)
    except BookingError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"{reservation.member} {DONE[action]}.")
    return redirect("partner:roster", studio_slug=studio.slug, session_id=session_id)


@partner_required("schedule")
@require_POST
def cancel_class(request, studio, session_id: int):
    session = studio_selectors.session_for_studio(studio, session_id)
    if session is None:
        raise Http404("No such class.")
    if request.POST.get("confirm") != "yes":
        messages.error(request, "Tick the box to confirm: every member is refunded and e-mailed.")
        return redirect("partner:roster", studio_slug=studio.slug, session_id=session_id)
    try:
        count = services.cancel_session(session.pk)
    except BookingError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Class cancelled; {count} members refunded and e-mailed.")
    return redirect("partner:roster", studio_slug=studio.slug, session_id=session_id)
