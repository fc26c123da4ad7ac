"""Project-level pages: the home page, the health check and the icon."""

import secrets

import redis
from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.views.decorators.cache import never_cache

from bookings import selectors as booking_selectors
from marketing import services as marketing_services
from members.selectors import member_for_user
from studios.models import Market


def home(request):
    """Cities, and the visitor's city's Spotlight studios of the day; for a member, their next
    class and their balance too."""
    markets = list(Market.objects.order_by("name"))
    member = member_for_user(request.user)
    market = next((m for m in markets if member and m.pk == member.home_market_id), None)
    market = market or (min(markets, key=lambda m: m.pk) if markets else None)
    placements = []
    if market is not None:
        filters = booking_selectors.SearchFilters(day=booking_selectors.local_today(market))
        matching = booking_selectors.search_sessions(market, filters)
        placements = booking_selectors.spotlight_placements(
            market,
            filters,
            matching,
            seed=secrets.randbits(32),
            member=member,
            visits=booking_selectors.member_visits(member),
        )
        marketing_services.count([p.campaign_id for p in placements], filters.day, "impressions")
    # A member lands on their next class and their balance (one query more).
    next_class = booking_selectors.upcoming_reservations(member).first() if member else None
    return render(
        request,
        "home.html",
        {
            "markets": markets,
            "market": market,
            "placements": placements,
            "member": member,
            "next_class": next_class,
        },
    )


def favicon(request):
    """Browsers ask for /favicon.ico on pages that name no icon (admin, the API's JSON)."""
    return redirect(static("favicon.svg"), permanent=True)


@never_cache
def healthz(request):
    """Liveness and readiness: the database always, Redis when configured. 503 when one fails."""
    checks = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        checks["database"] = "ok"
    except Exception as exc:  # any driver error means "not ready"
        checks["database"] = f"error: {exc.__class__.__name__}"
    if settings.REDIS_URL:
        try:
            redis.Redis.from_url(
                settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1
            ).ping()
            checks["redis"] = "ok"
        except Exception as exc:
            checks["redis"] = f"error: {exc.__class__.__name__}"
    else:
        checks["redis"] = "not configured"
    healthy = all(v in ("ok", "not configured") for v in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "error", "checks": checks}, status=200 if healthy else 503
    )
