"""The member website's booking pages."""

import re
from datetime import datetime, time, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from bookings import selectors, services
from bookings.models import Reservation
from members.models import Payment, PaymentKind
from premium.models import PremiumPrice, PremiumSettings
from studios.models import ClassSession
from tests import factories

pytestmark = pytest.mark.django_db


def soon(hours: int = 5):
    return timezone.now() + timedelta(hours=hours)


def local_day(session):
    return timezone.localtime(session.starts_at, session.studio.market.tzinfo).date()


def test_search_lists_classes_of_the_day_for_anonymous_visitors(client, studio):
    session = factories.ClassSessionFactory(
        studio=studio, starts_at=soon(), network_spots=10, network_booked=7
    )
    response = client.get(
        reverse("bookings:search"), {"market": studio.market.slug, "day": local_day(session)}
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert session.class_type.name in page and studio.name in page and "3 left" in page


def test_search_filters_by_category_credits_and_text(client, studio):
    day_start = soon(2)
    yoga = factories.ClassSessionFactory(studio=studio, starts_at=day_start, credit_price=5)
    box_type = factories.ClassTypeFactory(studio=studio, name="Knockout", category="boxing")
    boxing = factories.ClassSessionFactory(
        studio=studio, class_type=box_type, starts_at=day_start, credit_price=12
    )
    base = {"market": studio.market.slug, "day": local_day(yoga)}
    if local_day(boxing) != local_day(yoga):
        pytest.skip("the two classes straddle local midnight")
    by_category = client.get(
        reverse("bookings:search"), {**base, "category": "boxing"}
    ).content.decode()
    assert "Knockout" in by_category and yoga.class_type.name not in by_category
    by_credits = client.get(reverse("bookings:search"), {**base, "max_credits": 6}).content.decode()
    assert "Knockout" not in by_credits and yoga.class_type.name in by_credits
    by_text = client.get(reverse("bookings:search"), {**base, "q": "knock"}).content.decode()
    assert "Knockout" in by_text and yoga.class_type.name not in by_text


def test_search_shows_sold_out_and_waitlist(studio):
    full = factories.ClassSessionFactory(studio=studio, network_spots=4, network_booked=4)
    none = factories.ClassSessionFactory(studio=studio, network_spots=0)
    assert selectors.spots_label(full) == "Waitlist"
    assert selectors.spots_label(none) == "Sold out"


def test_search_rejects_bad_filters_with_a_message_not_an_error(client, studio):
    response = client.get(
        reverse("bookings:search"),
        {
            "market": studio.market.slug,
            "day": "2001-01-01",
            "min_credits": "abc",
            "max_credits": "-3",
        },
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "booking window" in page and "whole number" in page


def test_search_query_count_does_not_grow_with_rows(client, studio, django_assert_max_num_queries):
    # Tomorrow morning, studio time: 31 classes of one local day whatever the hour of the run.
    tz = studio.market.tzinfo
    tomorrow = timezone.localtime(timezone.now(), tz).date() + timedelta(days=1)
    start = datetime.combine(tomorrow, time(9), tzinfo=tz)
    for n in range(30):
        factories.ClassSessionFactory(studio=studio, starts_at=start + timedelta(minutes=n))
    day = local_day(factories.ClassSessionFactory(studio=studio, starts_at=start))
    with django_assert_max_num_queries(8):
        response = client.get(
            reverse("bookings:search"), {"market": studio.market.slug, "day": day}
        )
    assert response.content.decode().count("session-row") >= 20


def test_a_member_saves_studios_and_searches_only_their_classes(
    client, active_member, studio, django_assert_max_num_queries
):
    from members.models import SavedStudio

    other = factories.StudioFactory(market=studio.market, name="Elsewhere Barre")
    tz = studio.market.tzinfo
    tomorrow = timezone.localtime(timezone.now(), tz).date() + timedelta(days=1)
    morning = datetime.combine(tomorrow, time(9), tzinfo=tz)
    mine = factories.ClassSessionFactory(studio=studio, starts_at=morning)
    factories.ClassSessionFactory(studio=other, starts_at=morning)
    client.force_login(active_member.user)
    studio_page = reverse("bookings:studio", args=[studio.slug])
    assert "Save to My studios" in client.get(studio_page).content.decode()
    save = reverse("members:save_studio", args=[studio.slug])
    for _ in range(2):  # saying it twice keeps one
        done = client.post(save, {"saved": "on", "next": studio_page}, follow=True)
        assert done.redirect_chain[-1][0] == studio_page
    assert "In My studios" in done.content.decode()
    assert SavedStudio.objects.filter(member=active_member).count() == 1
    search = {"market": studio.market.slug, "day": local_day(mine)}
    every = client.get(reverse("bookings:search"), search).content.decode()
    assert studio.name in every and other.name in every and 'name="mine"' in every
    with django_assert_max_num_queries(8):
        only = client.get(reverse("bookings:search"), {**search, "mine": "on"})
    only = only.content.decode()
    assert studio.name in only and other.name not in only
    account = client.get(reverse("members:account")).content.decode()
    assert f'href="{studio_page}">{studio.name}</a>' in account
    # Another member's saved studios are theirs alone.
    someone = factories.MemberFactory(home_market=studio.market)
    client.force_login(someone.user)
    nothing = client.get(reverse("bookings:search"), {**search, "mine": "on"}).content.decode()
    assert "No classes at My studios match" in nothing and studio.name not in nothing
    # A visitor has no studios: the box is not offered and the search shows every class.
    client.logout()
    visitor = client.get(reverse("bookings:search"), {**search, "mine": "on"}).content.decode()
    assert other.name in visitor and 'name="mine"' not in visitor
    assert "Save to My studios" not in client.get(studio_page).content.decode()
    # Taking it out, from the account page; a next address elsewhere is not followed.
    client.force_login(active_member.user)
    for elsewhere in ("https://elsewhere.example/", "//elsewhere.example/", "home", ""):
        out = client.post(save, {"next": elsewhere})
        assert out.url == reverse("members:account"), elsewhere
    assert not SavedStudio.objects.exists()
    assert client.get(save).status_code == 405
    missing = reverse("members:save_studio", args=["no-such-studio"])
    assert client.post(missing, {"saved": "on"}).status_code == 404


def test_class_page_explains_the_price_and_offers_booking(
    client, active_member, session, django_assert_max_num_queries
):
    client.force_login(active_member.user)
    with django_assert_max_num_queries(8):
        response = client.get(reverse("bookings:class", args=[session.pk]))
    page = response.content.decode()
    assert "Book for 8 credits" in page
    assert "Why 8 credits?" in page and "per visit" in page


def test_class_page_of_a_booked_member_at_a_premium_studio_stays_within_8_queries(
    client, active_member, studio, django_assert_max_num_queries
):
    # The most a class page reads: the network is sold out, so Premium's settings and its
    # price for this class type are read too, and the member's own reservation is shown.
    PremiumSettings.objects.create(studio=studio, price_cents=3000, max_spots=2)
    session = factories.ClassSessionFactory(studio=studio, capacity=20, network_spots=2)
    PremiumPrice.objects.create(studio=studio, class_type=session.class_type, price_cents=4000)
    services.book(active_member, session.pk)
    session.network_booked = 2
    session.save(update_fields=["network_booked"])
    client.force_login(active_member.user)
    with django_assert_max_num_queries(8):
        page = client.get(reverse("bookings:class", args=[session.pk])).content.decode()
    assert "You're booked" in page and ">Cancel</button>" in page and "Free until" in page


def test_class_page_without_a_reservation_or_waitlist_entry_does_not_look_for_them(
    client, active_member, studio, django_assert_num_queries
):
    session = factories.ClassSessionFactory(studio=studio, network_spots=2, network_booked=2)
    client.force_login(active_member.user)
    # The class, the login (session, user), the member, the member's booking context, and
    # Premium's settings and price (the network is sold out); no reservation or waitlist
    # lookup, since the booking context says there is none.
    with django_assert_num_queries(7):
        page = client.get(reverse("bookings:class", args=[session.pk])).content.decode()
    assert "Join the waitlist" in page and "You're booked" not in page


def test_class_page_asks_anonymous_visitors_to_log_in(client, session):
    page = client.get(reverse("bookings:class", args=[session.pk])).content.decode()
    assert "Log in to book" in page


def test_unknown_class_is_404(client):
    assert client.get(reverse("bookings:class", args=[999999])).status_code == 404


def test_book_from_the_class_page_and_a_double_submit_books_once(client, active_member, session):
    client.force_login(active_member.user)
    form = {"offer": "standard", "expected_credits": 8, "idempotency_key": "page-key"}
    first = client.post(reverse("bookings:book", args=[session.pk]), form)
    second = client.post(reverse("bookings:book", args=[session.pk]), form)
    assert first.status_code == second.status_code == 302
    assert Reservation.objects.filter(member=active_member).count() == 1
    schedule = client.get(reverse("bookings:schedule")).content.decode()
    assert session.class_type.name in schedule


def test_a_tampered_price_is_refused_with_a_message(client, active_member, session):
    client.force_login(active_member.user)
    response = client.post(
        reverse("bookings:book", args=[session.pk]),
        {"offer": "standard", "expected_credits": 1},
        follow=True,
    )
    assert "now costs 8 credits" in response.content.decode()
    assert not Reservation.objects.exists()


def test_booking_a_missing_class_says_so(client, active_member):
    client.force_login(active_member.user)
    response = client.post(
        reverse("bookings:book", args=[424242]),
        {"offer": "standard", "expected_credits": 8},
        follow=True,
    )
    assert "does not exist" in response.content.decode()


def test_booking_needs_login_and_post(client, session):
    response = client.post(
        reverse("bookings:book", args=[session.pk]), {"offer": "standard", "expected_credits": 8}
    )
    assert response.status_code == 302 and reverse("members:login") in response.url
    assert not Reservation.objects.exists()


def test_cancel_from_my_schedule(client, active_member, session):
    reservation = services.book(active_member, session.pk)
    client.force_login(active_member.user)
    response = client.post(reverse("bookings:cancel", args=[reservation.pk]), follow=True)
    assert "Your credits are back" in response.content.decode()
    reservation.refresh_from_db()
    assert reservation.status == "cancelled"


def test_cannot_cancel_another_members_reservation(client, active_member, session, market):
    reservation = services.book(active_member, session.pk)
    other = factories.MemberFactory(home_market=market)
    client.force_login(other.user)
    response = client.post(reverse("bookings:cancel", args=[reservation.pk]), follow=True)
    assert "does not exist" in response.content.decode()
    reservation.refresh_from_db()
    assert reservation.status == "booked"


def test_waitlist_join_shows_position_and_leave(client, active_member, studio):
    session = factories.ClassSessionFactory(studio=studio, network_spots=2, network_booked=2)
    client.force_login(active_member.user)
    page = client.get(reverse("bookings:class", args=[session.pk])).content.decode()
    assert "Join the waitlist" in page
    client.post(reverse("bookings:join_waitlist", args=[session.pk]))
    page = client.get(reverse("bookings:class", args=[session.pk])).content.decode()
    assert "number <strong>1</strong> on the waitlist" in page
    assert "number 1 in line" in client.get(reverse("bookings:schedule")).content.decode()
    # A spot opens and nobody is promoted (inside the promotion cutoff, say): the member's
    # schedule says so instead of a place in a line that no longer matters.
    ClassSession.objects.filter(pk=session.pk).update(network_spots=3)
    page = client.get(reverse("bookings:schedule")).content.decode()
    assert "a spot is open: book it" in page and "in line" not in page
    entry = active_member.waitlist_entries.get()
    client.post(reverse("bookings:leave_waitlist", args=[entry.pk]))
    entry.refresh_from_db()
    assert entry.status == "left"


def test_schedule_query_count_is_fixed(
    client, active_member, studio, django_assert_max_num_queries
):
    for _ in range(3):
        services.book(
            active_member,
            factories.ClassSessionFactory(
                studio=factories.StudioFactory(market=studio.market), credit_price=2
            ).pk,
        )
    client.force_login(active_member.user)
    with django_assert_max_num_queries(9):
        assert client.get(reverse("bookings:schedule")).status_code == 200


def test_calendar_feed_needs_the_secret_token(client, active_member, session):
    services.book(active_member, session.pk)
    body = client.get(
        reverse("bookings:calendar", args=[active_member.calendar_token])
    ).content.decode()
    assert "BEGIN:VCALENDAR" in body and "BEGIN:VEVENT" in body and session.class_type.name in body
    assert client.get(reverse("bookings:calendar", args=["not-the-token"])).status_code == 404


def test_a_member_gives_the_calendar_a_new_address_and_the_old_one_stops(
    client, active_member, session
):
    services.book(active_member, session.pk)
    old = reverse("bookings:calendar", args=[active_member.calendar_token])
    other = factories.MemberFactory()
    others = reverse("bookings:calendar", args=[other.calendar_token])
    client.force_login(active_member.user)
    reset = reverse("bookings:calendar_reset")
    assert client.get(reset).status_code == 405
    page = client.post(reset, follow=True).content.decode()
    assert "Your calendar has a new address" in page
    active_member.refresh_from_db()
    new = reverse("bookings:calendar", args=[active_member.calendar_token])
    assert new != old and new in page and old not in page
    assert client.get(old).status_code == 404
    assert session.class_type.name in client.get(new).content.decode()
    assert client.get(others).status_code == 200  # nobody else's address changed


def test_studio_page_lists_upcoming_classes_under_their_days(client, studio):
    tz = studio.market.tzinfo
    later, sooner = (
        factories.ClassSessionFactory(studio=studio, starts_at=timezone.now() + timedelta(days=d))
        for d in (3, 2)
    )
    page = client.get(reverse("bookings:studio", args=[studio.slug])).content.decode()
    assert studio.name in page
    headings = [
        f'<h3 class="day-heading">{timezone.localtime(s.starts_at, tz):%A %-d %B}</h3>'
        for s in (sooner, later)
    ]
    assert page.index(headings[0]) < page.index(sooner.class_type.name) < page.index(headings[1])
    assert page.index(headings[1]) < page.index(later.class_type.name)
    assert f"<strong>{timezone.localtime(sooner.starts_at, tz):%H:%M}</strong>" in page
    assert client.get(reverse("bookings:studio", args=["nope"])).status_code == 404


def test_script_payloads_in_names_are_escaped(client, studio):
    evil = factories.ClassTypeFactory(studio=studio, name="<script>alert(1)</script>")
    session = factories.ClassSessionFactory(studio=studio, class_type=evil, starts_at=soon(3))
    page = client.get(reverse("bookings:class", args=[session.pk])).content.decode()
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page


def test_a_late_cancel_from_the_page_warns_of_the_fee(client, active_member, studio):
    session = factories.ClassSessionFactory(
        studio=studio, starts_at=soon(1), network_spots=5, credit_price=4
    )
    reservation = services.book(active_member, session.pk)
    client.force_login(active_member.user)
    page = client.get(reverse("bookings:schedule")).content.decode()
    assert ">Cancel late</button>" in page
    assert "A late cancel: your credits come back and a $10.00 fee is charged." in page
    response = client.post(
        reverse("bookings:cancel", args=[reservation.pk]), {"late": "1"}, follow=True
    )
    assert "late-cancel fee charged" in response.content.decode()
    reservation.refresh_from_db()
    assert reservation.status == "late_cancelled"
    fee = Payment.objects.get(member=active_member, kind=PaymentKind.LATE_CANCEL_FEE)
    assert fee.amount_cents == 1000


def test_a_page_that_offered_a_free_cancel_never_charges_a_fee_once_the_window_closed(
    client, active_member, studio
):
    studio.cancellation_window_hours = 12
    studio.save(update_fields=["cancellation_window_hours"])
    session = factories.ClassSessionFactory(studio=studio, starts_at=soon(20), credit_price=4)
    reservation = services.book(active_member, session.pk)
    client.force_login(active_member.user)
    page = client.get(reverse("bookings:schedule")).content.decode()
    free_until = timezone.localtime(session.starts_at - timedelta(hours=12), studio.market.tzinfo)
    assert f"Free until {free_until:%a} {free_until.day} {free_until:%b, %H:%M}" in page
    assert 'name="late"' not in page
    # The member comes back to the open page after the window closed, and clicks Cancel.
    session.starts_at = soon(2)
    session.save(update_fields=["starts_at"])
    Reservation.objects.filter(pk=reservation.pk).update(starts_at=session.starts_at)
    response = client.post(reverse("bookings:cancel", args=[reservation.pk]), follow=True)
    page = response.content.decode()
    assert "Free cancellation ended" in page and "a $10.00 fee is charged" in page
    assert "Cancel again to confirm." in page and ">Cancel late</button>" in page
    reservation.refresh_from_db()
    active_member.refresh_from_db()
    assert reservation.status == "booked"
    assert not Payment.objects.filter(
        member=active_member, kind=PaymentKind.LATE_CANCEL_FEE
    ).exists()


def test_cancel_returns_to_the_page_it_came_from_but_never_off_site(client, active_member, studio):
    first, second = (factories.ClassSessionFactory(studio=studio, credit_price=2) for _ in "ab")
    client.force_login(active_member.user)
    came_from = reverse("bookings:class", args=[first.pk])
    reservation = services.book(active_member, first.pk)
    response = client.post(reverse("bookings:cancel", args=[reservation.pk]), {"next": came_from})
    assert response.url == came_from
    reservation = services.book(active_member, second.pk)
    response = client.post(
        reverse("bookings:cancel", args=[reservation.pk]), {"next": "https://evil.example/"}
    )
    assert response.url == reverse("bookings:schedule")


def test_search_filters_are_labelled_and_prices_read_as_one_phrase(client, studio):
    one = factories.ClassSessionFactory(studio=studio, starts_at=soon(2), credit_price=1)
    factories.ClassSessionFactory(studio=studio, starts_at=soon(2), credit_price=12)
    page = client.get(
        reverse("bookings:search"), {"market": studio.market.slug, "day": local_day(one)}
    ).content.decode()
    # Every filter has a name a screen reader can say, and the text box says what it searches.
    for label in ("Search", "Time of day", "Category", "Min credits", "Max credits"):
        assert f'aria-label="{label}"' in page
    assert 'type="search"' in page and 'placeholder="Class, studio or instructor"' in page
    # The number and its unit stay together on a phone, where the row spreads its parts out.
    assert '<span class="cost"><strong>1</strong> credit</span>' in page
    assert '<span class="cost"><strong>12</strong> credits</span>' in page


@pytest.mark.parametrize(
    "capacity, badge",
    [
        (1, '<span class="spots wait">Waitlist</span>'),  # the room is full too
        (10, '<span class="spots premium">Premium</span>'),  # Premium sells the room's rest
    ],
)
def test_a_class_sold_out_on_the_network_wears_the_same_badge_on_every_page(
    client, studio, capacity, badge
):
    full = factories.ClassSessionFactory(
        studio=studio, starts_at=soon(3), capacity=capacity, network_spots=1, network_booked=1
    )
    search = client.get(
        reverse("bookings:search"), {"market": studio.market.slug, "day": local_day(full)}
    )
    assert badge in search.content.decode()
    assert badge in client.get(reverse("bookings:class", args=[full.pk])).content.decode()
    assert badge in client.get(reverse("bookings:studio", args=[studio.slug])).content.decode()


def test_one_credit_is_singular_on_the_page_and_in_the_email(client, active_member, studio):
    from django.core import mail

    from studios import outbox
    from studios.templatetags.money import format_credits

    assert [format_credits(n) for n in (0, 1, 2, -1)] == [
        "0 credits",
        "1 credit",
        "2 credits",
        "-1 credit",
    ]
    cheap = factories.ClassSessionFactory(studio=studio, credit_price=1)
    client.force_login(active_member.user)
    page = client.get(reverse("bookings:class", args=[cheap.pk])).content.decode()
    assert "Book for 1 credit<" in page and "Why 1 credit?" in page
    assert "1 credit from your plan." in page
    services.book(active_member, cheap.pk)
    outbox.relay()
    assert "1 credit was taken from your balance." in mail.outbox[-1].body
    page = client.get(reverse("bookings:class", args=[cheap.pk])).content.decode()
    assert "Standard, 1 credit)" in page


def test_a_members_home_page_shows_the_next_class_and_the_balance(
    client, active_member, studio, django_assert_max_num_queries
):
    later = factories.ClassSessionFactory(
        studio=studio, starts_at=timezone.now() + timedelta(days=3)
    )
    sooner = factories.ClassSessionFactory(
        studio=studio, starts_at=timezone.now() + timedelta(days=2)
    )
    client.force_login(active_member.user)
    assert "Nothing booked yet." in client.get(reverse("home")).content.decode()
    for session in (later, sooner):
        services.book(active_member, session.pk, expected_credits=session.credit_price)
    active_member.refresh_from_db()
    with django_assert_max_num_queries(12):
        page = client.get(reverse("home")).content.decode()
    assert f'Next: <a href="{reverse("bookings:class", args=[sooner.pk])}">' in page
    assert f"You have {active_member.credit_balance} credits." in page
    client.logout()
    assert "Your classes" not in client.get(reverse("home")).content.decode()


def test_the_history_says_which_credits_came_back(client, active_member, studio):
    kept, cancelled = (factories.ClassSessionFactory(studio=studio) for _ in range(2))
    services.book(active_member, kept.pk)
    gone = services.book(active_member, cancelled.pk)
    services.cancel(gone.pk, member=active_member)
    client.force_login(active_member.user)
    page = client.get(reverse("bookings:schedule")).content.decode()
    history = page.split("<h2>History</h2>")[1]
    assert cancelled.class_type.name in history and kept.class_type.name not in history
    assert '<div class="muted">returned</div>' in history


def test_search_pages_go_on_to_later_classes_and_say_so(client, studio):
    tz = studio.market.tzinfo
    tomorrow = timezone.localtime(timezone.now(), tz).date() + timedelta(days=1)
    start = datetime.combine(tomorrow, time(9), tzinfo=tz)
    sessions = [
        factories.ClassSessionFactory(studio=studio, starts_at=start + timedelta(minutes=n))
        for n in range(25)
    ]
    query = {"market": studio.market.slug, "day": tomorrow}
    first = client.get(reverse("bookings:search"), query).content.decode()
    second = client.get(reverse("bookings:search"), {**query, "page": 2}).content.decode()
    # Results run in time order, so the next page holds the later classes, and says so.
    assert "Later →" in first and "Older" not in first and "Earlier" not in first
    assert "← Earlier" in second and "Newer" not in second
    assert f"/classes/{sessions[19].pk}/" in first and f"/classes/{sessions[20].pk}/" in second


def test_a_class_whose_only_spots_left_are_premium_says_premium_not_sold_out(client, studio):
    from premium.models import PremiumSettings

    closed = factories.StudioFactory(market=studio.market)
    PremiumSettings.objects.create(studio=closed, enabled=False, price_cents=2500)
    at = soon(6)
    rows = {
        # network sold out, room left, Premium on by default (no settings saved): (b)
        "sold_out": factories.ClassSessionFactory(
            studio=studio, starts_at=at, capacity=20, network_spots=5, network_booked=5
        ),
        # no network spots at all, room left: (c)
        "zero": factories.ClassSessionFactory(
            studio=studio, starts_at=at, capacity=10, network_spots=0
        ),
        # Premium's cap (3 a class by default) already sold
        "capped": factories.ClassSessionFactory(
            studio=studio,
            starts_at=at,
            capacity=20,
            network_spots=5,
            network_booked=5,
            premium_booked=3,
        ),
        # a studio that sells no Premium
        "closed": factories.ClassSessionFactory(
            studio=closed, starts_at=at, capacity=20, network_spots=5, network_booked=5
        ),
        # the room is full
        "full": factories.ClassSessionFactory(
            studio=studio,
            starts_at=at,
            capacity=6,
            network_spots=5,
            network_booked=5,
            studio_booked=1,
        ),
    }
    found = {
        s.pk: s
        for s in selectors.search_sessions(
            studio.market, selectors.SearchFilters(day=local_day(rows["sold_out"]))
        )
    }
    labels = {name: selectors.spots_label(found[s.pk]) for name, s in rows.items()}
    assert labels == {
        "sold_out": "Premium",
        "zero": "Premium",
        "capped": "Waitlist",
        "closed": "Waitlist",
        "full": "Waitlist",
    }
    page = client.get(
        reverse("bookings:search"),
        {"market": studio.market.slug, "day": local_day(rows["sold_out"])},
    ).content.decode()
    assert page.count('class="spots premium">Premium<') == 2
    api = client.get(
        "/api/v1/sessions/", {"market": studio.market.slug, "day": local_day(rows["zero"])}
    ).json()["results"]
    by_id = {r["id"]: r for r in api}
    assert by_id[rows["zero"].pk]["premium_left"] == 3
    assert by_id[rows["zero"].pk]["availability"] == "Premium"
    assert by_id[rows["sold_out"].pk]["premium_left"] == 3
    assert by_id[rows["capped"].pk]["premium_left"] == 0
    assert by_id[rows["closed"].pk]["premium_left"] == 0


def test_a_row_where_only_premium_is_left_shows_the_price_premium_books_at(client, studio):
    """The row's price is the one the class page's Premium offer charges, whichever price
    applies: the studio's saved one, a class type's own, or the default of a studio that saved
    no settings (1.75 times its rate, rounded half up, in SQL as in Python)."""
    from premium.offers import premium_credits
    from premium.selectors import default_price_cents, price_for, settings_for

    at = soon(6)
    saved = factories.StudioFactory(market=studio.market)
    PremiumSettings.objects.create(studio=saved, price_cents=2900)
    own_price = factories.ClassTypeFactory(studio=saved)
    PremiumPrice.objects.create(studio=saved, class_type=own_price, price_cents=4100)
    sold_out = {"capacity": 20, "network_spots": 5, "network_booked": 5}
    rows = [
        factories.ClassSessionFactory(studio=saved, starts_at=at, **sold_out),
        factories.ClassSessionFactory(studio=saved, class_type=own_price, starts_at=at, **sold_out),
    ]
    # Studios with no settings saved, at rates whose 1.75 times falls on half a unit and off it.
    for rate in (600, 1000, 1150, 1314, 2600):
        plain = factories.StudioFactory(market=studio.market, payout_rate_cents=rate)
        rows.append(factories.ClassSessionFactory(studio=plain, starts_at=at, **sold_out))
    # Where standard spots are left, the row keeps the class's own price.
    open_row = factories.ClassSessionFactory(studio=saved, starts_at=at, credit_price=4)
    closed = factories.StudioFactory(market=studio.market)
    PremiumSettings.objects.create(studio=closed, enabled=False, price_cents=2500)
    no_premium = factories.ClassSessionFactory(studio=closed, starts_at=at, **sold_out)
    value = studio.market.credit_value_cents
    expected = {
        s.pk: premium_credits(price_for(settings_for(s.studio), s.class_type), value) for s in rows
    }
    assert default_price_cents(rows[2].studio) == 1100  # 10.5 units, rounded half up
    assert len(set(expected.values())) > 3 and all(e != 4 for e in expected.values())
    found = {
        s.pk: s
        for s in selectors.search_sessions(
            studio.market, selectors.SearchFilters(day=local_day(open_row))
        )
    }
    assert {pk: selectors.spots_label(found[pk]) for pk in expected} == dict.fromkeys(
        expected, "Premium"
    )
    assert {pk: found[pk].shown_credits for pk in expected} == expected
    assert found[open_row.pk].shown_credits == 4
    assert found[no_premium.pk].shown_credits == no_premium.credit_price
    # The search's credit range reads the price the row shows.
    cheapest = min(expected.values())
    within = {
        s.pk
        for s in selectors.search_sessions(
            studio.market,
            selectors.SearchFilters(
                day=local_day(open_row), min_credits=cheapest, max_credits=cheapest
            ),
        )
    }
    assert within == {pk for pk, credits in expected.items() if credits == cheapest}
    page = client.get(
        reverse("bookings:search"), {"market": studio.market.slug, "day": local_day(open_row)}
    ).content.decode()
    for session in rows:
        row = page[page.index(f"/classes/{session.pk}/") :]
        row = row[: row.index("</li>")]
        assert f"<strong>{expected[session.pk]}</strong> credits" in row, row
    api = client.get(
        "/api/v1/sessions/", {"market": studio.market.slug, "day": local_day(open_row)}
    ).json()["results"]
    by_id = {r["id"]: r for r in api}
    assert {pk: by_id[pk]["premium_credits"] for pk in expected} == expected
    assert by_id[open_row.pk]["credit_price"] == 4
    assert by_id[no_premium.pk]["premium_credits"] is None


def test_a_member_without_a_plan_sees_the_price_they_can_pay_on_every_row(
    client, studio, member, active_member
):
    """Without a plan, a class can only be bought à la carte, in money, from its Premium spots.
    Each row of the search and the studio page shows that price and those spots, or 'Plan
    only' where the studio sells no single classes, as the class page's headline and offer do
    (and the API's a_la_carte_cents); members with a plan and visitors keep the credits."""
    from bookings.offers import collect_offers

    at = soon(6)
    open_room = {"capacity": 20, "network_spots": 5}
    saved = factories.StudioFactory(market=studio.market)
    PremiumSettings.objects.create(studio=saved, price_cents=2900)
    own_price = factories.ClassTypeFactory(studio=saved)
    PremiumPrice.objects.create(studio=saved, class_type=own_price, price_cents=4100)
    no_singles = factories.StudioFactory(market=studio.market)
    PremiumSettings.objects.create(studio=no_singles, price_cents=2900, a_la_carte_enabled=False)
    no_premium = factories.StudioFactory(market=studio.market)
    PremiumSettings.objects.create(studio=no_premium, price_cents=2900, enabled=False)
    plain = factories.StudioFactory(market=studio.market, payout_rate_cents=1150)  # no settings
    rows = {
        "saved": factories.ClassSessionFactory(studio=saved, starts_at=at, **open_room),
        "own_price": factories.ClassSessionFactory(
            studio=saved, class_type=own_price, starts_at=at, network_spots=0, capacity=20
        ),
        "default": factories.ClassSessionFactory(studio=plain, starts_at=at, **open_room),
        "premium_taken": factories.ClassSessionFactory(
            studio=saved, starts_at=at, premium_booked=3, **open_room
        ),
        "no_singles": factories.ClassSessionFactory(studio=no_singles, starts_at=at, **open_room),
        "no_premium": factories.ClassSessionFactory(
            studio=no_premium, starts_at=at, network_booked=5, **open_room
        ),
    }
    expected = {
        "saved": ("$29.00", "3 left"),
        "own_price": ("$41.00", "3 left"),
        "default": ("$20.00", "3 left"),  # 1.75 x $11.50, rounded half up
        "premium_taken": ("$29.00", "Sold out"),
        "no_singles": (f"{rows['no_singles'].credit_price} credits", "Plan only"),
        "no_premium": (f"{rows['no_premium'].credit_price} credits", "Plan only"),
    }
    day = local_day(rows["saved"])

    def shown(page: str, session) -> tuple[str, str]:
        row = page[page.index(f"/classes/{session.pk}/") :]
        row = row[row.index('class="price"') : row.index("</li>")]
        price = row[row.index("<strong>") + 8 : row.index("</strong>")]
        unit = " credits" if "credit" in row[: row.index('class="spots')] else ""
        return price + unit, re.search(r'class="spots[^"]*">([^<]*)</span>', row).group(1)

    client.force_login(member.user)
    search = client.get(
        reverse("bookings:search"), {"market": studio.market.slug, "day": day}
    ).content.decode()
    assert {name: shown(search, s) for name, s in rows.items()} == expected
    studio_page = client.get(reverse("bookings:studio", args=[saved.slug])).content.decode()
    for name in ("saved", "own_price", "premium_taken"):
        assert shown(studio_page, rows[name]) == expected[name]
    # The class page's headline and its offer say the same as the row.
    for name, session in rows.items():
        found = selectors.session_for_page(session.pk)
        ctx = services.booking_context(found, member, timezone.now())
        offer, badge = selectors.headline(ctx, collect_offers(ctx))
        price = offer and f"${offer.money_cents // 100}.00"
        assert (price or f"{found.credit_price} credits", badge) == expected[name], name
        page = client.get(reverse("bookings:class", args=[session.pk])).content.decode()
        (heading,) = [h for h in re.findall("<h2>(.*?)</h2>", page, re.S) if "spots" in h]
        assert " ".join(re.sub(r"<[^>]+>", " ", heading).split()) == " ".join(expected[name])
    api = client.get("/api/v1/sessions/", {"market": studio.market.slug, "day": day}).json()
    by_id = {r["id"]: r for r in api["results"]}
    assert {name: by_id[s.pk]["a_la_carte_cents"] for name, s in rows.items()} == {
        "saved": 2900,
        "own_price": 4100,
        "default": 2000,
        "premium_taken": 2900,
        "no_singles": None,
        "no_premium": None,
    }
    assert {r["currency"] for r in by_id.values()} == {studio.market.currency}
    # With a plan, and before logging in, the rows keep their credits and spots.
    for viewer in (active_member.user, None):
        client.logout()
        if viewer:
            client.force_login(viewer)
        search = client.get(
            reverse("bookings:search"), {"market": studio.market.slug, "day": day}
        ).content.decode()
        assert shown(search, rows["saved"]) == (f"{rows['saved'].credit_price} credits", "5 left")
        assert "$" not in search[search.index('class="sessions"') :]


def test_a_member_without_a_plan_filters_by_the_price_their_rows_show(
    client, studio, member, active_member
):
    """The rows of a member without a plan show à la carte's price in money, so their search's
    range is in money too, on the page and in the API; the credit range, whose numbers they do
    not see, is ignored for them, as the price range is for members with a plan."""
    at = soon(6)
    open_room = {"capacity": 20, "network_spots": 5, "credit_price": 4}
    saved = factories.StudioFactory(market=studio.market)
    PremiumSettings.objects.create(studio=saved, price_cents=2900)
    own_price = factories.ClassTypeFactory(studio=saved)
    PremiumPrice.objects.create(studio=saved, class_type=own_price, price_cents=4150)
    no_singles = factories.StudioFactory(market=studio.market)
    PremiumSettings.objects.create(studio=no_singles, price_cents=2900, a_la_carte_enabled=False)
    rows = {
        "at_29": factories.ClassSessionFactory(studio=saved, starts_at=at, **open_room),
        "at_41_50": factories.ClassSessionFactory(
            studio=saved, class_type=own_price, starts_at=at, **open_room
        ),
        "plan_only": factories.ClassSessionFactory(studio=no_singles, starts_at=at, **open_room),
    }
    day = local_day(rows["at_29"])

    def found(viewer, **params) -> set[str]:
        client.force_login(viewer.user)
        query = {"market": studio.market.slug, "day": day, **params}
        page = client.get(reverse("bookings:search"), query).content.decode()
        on_page = {name for name, s in rows.items() if f"/classes/{s.pk}/" in page}
        api = client.get("/api/v1/sessions/", query).json()["results"]
        assert {name for name, s in rows.items() if s.pk in {r["id"] for r in api}} == on_page
        return on_page

    assert found(member) == set(rows)
    assert found(member, min_price=30) == {"at_41_50"}
    assert found(member, max_price=41) == {"at_29"}
    assert found(member, min_price=29, max_price=42) == {"at_29", "at_41_50"}
    # A class sold only with a plan has no price to match.
    assert found(member, max_price=1000) == {"at_29", "at_41_50"}
    # Credits, which these rows do not show, filter nothing for them.
    assert found(member, min_credits=5) == set(rows)
    # With a plan, the rows are in credits and so is the range.
    assert found(active_member, min_price=30) == set(rows)
    assert found(active_member, min_credits=5) == set()
    # The form shows the range the rows are in, with the market's currency.
    client.force_login(member.user)
    page = client.get(reverse("bookings:search"), {"market": studio.market.slug}).content.decode()
    assert "Price ($)" in page and 'name="min_price"' in page and 'name="min_credits"' not in page
    client.force_login(active_member.user)
    page = client.get(reverse("bookings:search"), {"market": studio.market.slug}).content.decode()
    assert "Credits" in page and 'name="min_credits"' in page and 'name="min_price"' not in page
    # A range upside down is an error, on the page and in the API.
    client.force_login(member.user)
    bad = {"market": studio.market.slug, "day": day, "min_price": 50, "max_price": 20}
    page = client.get(reverse("bookings:search"), bad).content.decode()
    assert "Max price: The maximum must not be below the minimum." in page
    response = client.get("/api/v1/sessions/", bad)
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {
        "max_price": ["The maximum must not be below the minimum."]
    }


def test_rows_and_the_class_page_say_booked_for_the_member_s_own_classes(
    client, studio, active_member, member
):
    at = soon(6)
    mine = factories.ClassSessionFactory(studio=studio, starts_at=at, capacity=20)
    other = factories.ClassSessionFactory(studio=studio, starts_at=at, capacity=20)
    services.book(active_member, mine.pk)
    held = services.book(member, other.pk, offer_kind="a_la_carte")
    services.pay_hold(held.pk, member=member)
    search = {"market": studio.market.slug, "day": local_day(mine)}

    def badges(page: str) -> dict:
        found = {}
        for session in (mine, other):
            row = page[page.index(f"/classes/{session.pk}/") :]
            row = row[: row.index("</li>")]
            found[session.pk] = re.search(r'class="spots[^"]*">([^<]*)</span>', row).group(1)
        return found

    def heading(session) -> str:
        page = client.get(reverse("bookings:class", args=[session.pk])).content.decode()
        (h2,) = [h for h in re.findall("<h2>(.*?)</h2>", page, re.S) if "spots" in h]
        return " ".join(re.sub(r"<[^>]+>", " ", h2).split())

    client.force_login(active_member.user)
    page = client.get(reverse("bookings:search"), search).content.decode()
    assert badges(page) == {mine.pk: "Booked", other.pk: "10 left"}  # à la carte is Premium
    assert heading(mine) == f"{mine.credit_price} credits Booked"
    client.force_login(member.user)  # no plan: bought à la carte, in money
    page = client.get(reverse("bookings:search"), search).content.decode()
    assert badges(page)[other.pk] == "Booked"
    assert heading(other).endswith(" Booked") and heading(other).startswith("$")
    client.logout()
    page = client.get(reverse("bookings:search"), search).content.decode()
    assert badges(page) == {mine.pk: "9 left", other.pk: "10 left"}


def test_a_class_that_offers_members_nothing_is_not_listed(client, studio):
    from premium.models import PremiumSettings

    closed = factories.StudioFactory(market=studio.market)
    PremiumSettings.objects.create(studio=closed, enabled=False, price_cents=2500)
    at = soon(30)
    # No network spots and no Premium: nobody could ever book it.
    hidden = factories.ClassSessionFactory(
        studio=closed, starts_at=at, capacity=20, network_spots=0
    )
    # No network spots, but the studio sells Premium: (c).
    premium = factories.ClassSessionFactory(
        studio=studio, starts_at=at, capacity=20, network_spots=0
    )
    # Network spots all taken: waiting is worth it.
    waitlist = factories.ClassSessionFactory(
        studio=closed, starts_at=at, capacity=20, network_spots=2, network_booked=2
    )
    day = local_day(hidden)
    found = selectors.search_sessions(studio.market, selectors.SearchFilters(day=day))
    assert {s.pk for s in found} == {premium.pk, waitlist.pk}
    page = client.get(
        reverse("bookings:search"), {"market": studio.market.slug, "day": day}
    ).content.decode()
    assert f"/classes/{hidden.pk}/" not in page and f"/classes/{waitlist.pk}/" in page
    studio_page = client.get(reverse("bookings:studio", args=[closed.slug])).content.decode()
    assert f"/classes/{hidden.pk}/" not in studio_page
    assert f"/classes/{waitlist.pk}/" in studio_page
    api = client.get("/api/v1/sessions/", {"market": studio.market.slug, "day": day}).json()
    assert hidden.pk not in {r["id"] for r in api["results"]}
    # An empty day does not point on to a day whose only class offers nothing.
    waitlist.delete()
    premium.delete()
    before = selectors.SearchFilters(day=day - timedelta(days=1))
    week = day + timedelta(days=7)
    assert selectors.next_matching_day(studio.market, before, last_day=week) is None
    ClassSession.objects.filter(pk=hidden.pk).update(network_spots=1)
    assert selectors.next_matching_day(studio.market, before, last_day=week) == day
    ClassSession.objects.filter(pk=hidden.pk).update(network_spots=0)
    # Its own page still opens, from a link sent earlier.
    assert client.get(reverse("bookings:class", args=[hidden.pk])).status_code == 200


def test_an_empty_day_points_on_to_the_next_day_the_same_search_has_classes(
    client, studio, django_assert_max_num_queries
):
    tz = studio.market.tzinfo
    today = timezone.localtime(timezone.now(), tz).date()
    empty = today + timedelta(days=1)

    def at(days: int, hour: int, category: str):
        kind = factories.ClassTypeFactory(studio=studio, category=category)
        when = datetime.combine(today + timedelta(days=days), time(hour), tzinfo=tz)
        return factories.ClassSessionFactory(studio=studio, class_type=kind, starts_at=when)

    at(2, 9, "yoga")
    at(2, 19, "cycling")
    at(3, 19, "yoga")

    def search(**filters):
        query = {"market": studio.market.slug, "day": empty, **filters}
        return client.get(reverse("bookings:search"), query).content.decode()

    with django_assert_max_num_queries(8):
        page = search(category="yoga")
    day2, day3 = today + timedelta(days=2), today + timedelta(days=3)
    assert f"No classes match on {empty:%A} {empty.day} {empty:%B}." in page
    assert f"day={day2:%Y-%m-%d}" in page and f"Next: {day2:%A} {day2.day} {day2:%B}" in page
    # The same time of day: the evening's next yoga class is a day later.
    page = search(category="yoga", time="evening")
    slug = studio.market.slug
    link = f'href="?market={slug}&amp;category=yoga&amp;time=evening&day={day3:%Y-%m-%d}"'
    assert link in page
    # Nothing in the booking window: no link.
    page = search(category="boxing")
    assert "Next:" not in page and "Try another day or fewer filters." in page


def test_the_class_page_states_the_cancellation_terms_for_credits_and_money(client, studio):
    session = factories.ClassSessionFactory(studio=studio, starts_at=soon(30))
    address = reverse("bookings:class", args=[session.pk])
    page = client.get(address).content.decode()
    assert "Later, credits come back and a $10.00 late-cancel fee applies" in page
    assert "a class bought without a plan is not refunded" in page
    studio.market.late_cancel_fee_cents = 0
    studio.market.save(update_fields=["late_cancel_fee_cents"])
    page = client.get(address).content.decode()
    assert "Later, credits come back; a class bought without a plan is not refunded." in page
    assert "$0.00" not in page
