"""Member website: search, class and studio pages, booking, my schedule and its calendar feed."""

import secrets
import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from classpass import ratelimit
from marketing import services as marketing_services
from members import services as members_services
from members.errors import PaymentUnavailable
from members.models import Member
from members.selectors import has_saved, home_without_profile, member_for_user
from studios.models import Market

from . import calendar, pricing, selectors, services
from .errors import BookingError
from .forms import BookForm, SearchForm
from .models import ReservationStatus, Source
from .offers import collect_offers


def _market_for(request, member: Member | None, markets: list[Market]) -> Market:
    slug = request.GET.get("market")
    chosen = next((m for m in markets if m.slug == slug), None) if slug else None
    if chosen is None and member is not None:
        chosen = next((m for m in markets if m.pk == member.home_market_id), None)
    chosen = chosen or (min(markets, key=lambda m: m.pk) if markets else None)
    if chosen is None:
        raise Http404("No city is open yet.")
    return chosen


def search(request):
    member = member_for_user(request.user)
    markets = list(Market.objects.order_by("name"))
    market = _market_for(request, member, markets)
    days = selectors.booking_days(market)
    form = SearchForm(request.GET or None, days=days)
    if form.is_bound:
        form.is_valid()
    filters = form.filters(member=member)
    matching = selectors.search_sessions(market, filters)
    page = Paginator(matching, 20).get_page(request.GET.get("page"))
    visits = selectors.member_visits(member)
    selectors.with_row_prices(page, member, visits)
    placements = []
    if page.number == 1:
        placements = selectors.spotlight_placements(
            market, filters, matching, seed=secrets.randbits(32), member=member, visits=visits
        )
        marketing_services.count([p.campaign_id for p in placements], filters.day, "impressions")
    # An empty day points on to the next one with classes for the same search (late in the
    # evening, today has none left).
    next_day = (
        selectors.next_matching_day(market, filters, last_day=days[-1])
        if not page.paginator.count
        else None
    )
    params = request.GET.copy()
    params.pop("page", None)
    return render(
        request,
        "bookings/search.html",
        {
            "market": market,
            "markets": markets,
            "member": member,
            "pays_money": selectors.pays_money(member),
            "form": form,
            "filters": filters,
            "days": days,
            "page": page,
            "placements": placements,
            "querystring": params.urlencode(),
            "day_querystring": _without(params, "day"),
            "next_day": next_day,
        },
    )


def _without(params, key: str) -> str:
    params = params.copy()
    params.pop(key, None)
    return params.urlencode()


def class_detail(request, session_id: int):
    session = selectors.session_for_page(session_id)
    if session is None:
        raise Http404("That class does not exist.")
    member = member_for_user(request.user)
    now = timezone.now()
    ctx = services.booking_context(session, member, now)
    offers = collect_offers(ctx)
    spotlight = request.GET.get("spotlight", "")
    # A click on a Spotlight placement counts for the campaign only if it is this studio's.
    if not (spotlight.isdigit() and len(spotlight) <= 10 and int(spotlight) < 2**31):
        spotlight = ""
    elif selectors.spotlight_campaign_of(int(spotlight), session.pk):
        day = timezone.localtime(session.starts_at, session.studio.market.tzinfo).date()
        marketing_services.count([int(spotlight)], day, "clicks")  # the class's day, as bookings
    # The context already knows whether the member has a reservation or a waitlist entry: no
    # query for either in the common case.
    reservation = selectors.member_reservation(member, session) if ctx.already_booked else None
    if reservation is not None:
        reservation.cancel_terms = services.cancel_terms(session, reservation, now)
    headline, spots = selectors.headline(ctx, offers)
    context = {
        "spotlight": spotlight,
        "session": session,
        "headline": headline,
        "market": session.studio.market,
        "member": member,
        "offers": offers,
        "available": [o for o in offers if o.available],
        "price": pricing.explain(session),
        "spots": spots,
        "reservation": reservation,
        "waiting": selectors.waiting_entry(member, session) if ctx.waiting else None,
        "idempotency_key": uuid.uuid4().hex,
    }
    try:
        services.check_bookable(session, now)
    except BookingError as exc:
        context["not_bookable"] = exc.message
    context["can_wait"] = services.may_join_waitlist(ctx)
    return render(request, "bookings/class_detail.html", context)


def studio_detail(request, slug: str):
    studio = selectors.studio_by_slug(slug)
    if studio is None:
        raise Http404("That studio does not exist.")
    member = member_for_user(request.user)
    sessions = selectors.with_row_prices(
        selectors.upcoming_for_studio(studio), member, selectors.member_visits(member)
    )
    context = {
        "studio": studio,
        "sessions": sessions,
        "member": member,
        "saved": has_saved(member, studio),
    }
    return render(request, "bookings/studio_detail.html", context)


def _member_or_404(request) -> Member:
    member = member_for_user(request.user)
    if member is None:
        raise Http404("This account has no member profile.")
    return member


@login_required
@require_POST
def book(request, session_id: int):
    member = _member_or_404(request)
    if ratelimit.hit([("booking", str(request.user.pk))]) is not None:
        messages.error(
            request, "That's a lot of bookings in a minute. Please wait a moment and try again."
        )
        return redirect("bookings:class", session_id=session_id)
    form = BookForm(request.POST)
    if not form.is_valid():
        messages.error(request, "That booking request was incomplete. Please try again.")
        return redirect("bookings:class", session_id=session_id)
    campaign = form.cleaned_data["spotlight"]
    from_spotlight = campaign is not None and selectors.spotlight_campaign_of(campaign, session_id)
    try:
        reservation = services.book(
            member,
            session_id,
            offer_kind=form.cleaned_data["offer"],
            expected_credits=form.cleaned_data["expected_credits"],
            expected_money_cents=form.cleaned_data["expected_money_cents"],
            idempotency_key=form.cleaned_data["idempotency_key"] or None,
            source=Source.SPOTLIGHT if from_spotlight else Source.WEB,
        )
    except BookingError as exc:
        messages.error(request, exc.message)
        if exc.code == "session_not_found":
            return redirect("bookings:search")
        return redirect("bookings:class", session_id=session_id)
    if from_spotlight:  # reported down to marketing, which never reads reservations
        day = timezone.localdate(
            reservation.starts_at, timezone=reservation.session.studio.market.tzinfo
        )
        marketing_services.count([campaign], day, "bookings")
    if reservation.status == ReservationStatus.HELD:
        return redirect("bookings:checkout", public_id=reservation.public_id)
    session = reservation.session
    if reservation.status == ReservationStatus.BOOKED:
        messages.success(
            request, f"You're booked into {session.class_type.name} at {session.studio.name}."
        )
    return redirect("bookings:schedule")


@login_required
def checkout(request, public_id):
    """Pay for a held spot. With the local provider this page is the payment step itself."""
    member = _member_or_404(request)
    reservation = selectors.held_reservation(member, public_id)
    if reservation is None:
        raise Http404("No such reservation.")
    if request.method == "POST":
        try:
            services.pay_hold(reservation.pk, member=member)
        except PaymentUnavailable as exc:  # the hold is still there to pay (the try is pending)
            messages.error(request, exc.message)
            return redirect("bookings:checkout", public_id=public_id)
        except BookingError as exc:
            messages.error(request, exc.message)
            return redirect("bookings:class", session_id=reservation.session_id)
        messages.success(request, "Paid: you're booked. A receipt is on its way.")
        return redirect("bookings:schedule")
    if reservation.status == ReservationStatus.BOOKED:
        return redirect("bookings:schedule")
    if not services.hold_is_open(reservation, timezone.now()):
        # Expired, declined or released: no "held until" page with a Pay button.
        messages.error(
            request, "This hold has ended; you were not charged. Book again if spots are left."
        )
        return redirect("bookings:class", session_id=reservation.session_id)
    return render(
        request,
        "bookings/checkout.html",
        {"reservation": reservation, "session": reservation.session},
    )


@login_required
@require_POST
def cancel(request, reservation_id: int):
    member = _member_or_404(request)
    try:
        reservation = services.cancel(
            reservation_id, member=member, late_ok=request.POST.get("late") == "1"
        )
    except BookingError as exc:
        messages.error(request, exc.message)
    else:
        if reservation.status == "late_cancelled":
            messages.warning(
                request,
                "Cancelled inside the studio's window: credits back, late-cancel fee charged.",
            )
        else:
            messages.success(request, "Cancelled. Your credits are back.")
    return _back(request, reverse("bookings:schedule"))


@login_required
@require_POST
def join_waitlist(request, session_id: int):
    member = _member_or_404(request)
    try:
        services.join_waitlist(member, session_id)
    except BookingError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request, "You're on the waitlist. We'll book you automatically if a spot opens up."
        )
    return redirect("bookings:class", session_id=session_id)


@login_required
@require_POST
def leave_waitlist(request, entry_id: int):
    member = _member_or_404(request)
    try:
        services.leave_waitlist(member, entry_id)
    except BookingError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "You left the waitlist.")
    return _back(request, reverse("bookings:schedule"))


def _back(request, default: str):
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, {request.get_host()}, request.is_secure()
    ):
        return redirect(target)
    return redirect(default)


@login_required
def schedule(request):
    member = member_for_user(request.user)
    if member is None:
        if home := home_without_profile(request.user):
            return redirect(home)
        raise Http404("This account has no member profile.")
    past = Paginator(selectors.past_reservations(member), 20).get_page(request.GET.get("page"))
    upcoming = list(selectors.upcoming_reservations(member))
    now = timezone.now()
    for reservation in upcoming:
        reservation.cancel_terms = services.cancel_terms(reservation.session, reservation, now)
    return render(
        request,
        "bookings/schedule.html",
        {
            "member": member,
            "upcoming": upcoming,
            "waiting": list(selectors.waiting_entries(member)),
            "page": past,
            "calendar_url": request.build_absolute_uri(
                reverse("bookings:calendar", args=[member.calendar_token])
            ),
        },
    )


@login_required
@require_POST
def calendar_reset(request):
    member = _member_or_404(request)
    members_services.new_calendar_address(member)
    messages.success(
        request,
        "Your calendar has a new address; the old one no longer works. "
        "Subscribe again in your calendar app with the address below.",
    )
    return redirect("bookings:schedule")


def calendar_feed(request, token: str):
    member = Member.objects.filter(calendar_token=token).first()
    if member is None:
        raise Http404("Unknown calendar.")
    body = calendar.ical_for(
        member, selectors.calendar_reservations(member), site_url=request.build_absolute_uri("/")
    )
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="classpass.ics"'
    return response
