"""Spotlight: buying, placement and its fairness, counting without writes, billing."""

from collections import Counter
from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from bookings import selectors as booking_selectors
from bookings.models import Reservation
from marketing import selectors, services
from marketing.errors import SpotlightError
from marketing.models import SpotlightCampaign, SpotlightDay, SpotlightPrice
from studios import selectors as studio_selectors
from studios.models import EarningEntry, EarningKind, StaffRole
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def prices(market):
    SpotlightPrice.objects.create(market=market, category="", daily_fee_cents=1500)
    SpotlightPrice.objects.create(market=market, category="yoga", daily_fee_cents=1000)


def today(studio):
    return services.local_today(studio)


def running(studio, fee=1500, **extra):
    day = today(studio)
    return SpotlightCampaign.objects.create(
        studio=studio,
        market=studio.market,
        starts_on=day - timedelta(days=1),
        ends_on=day + timedelta(days=5),
        daily_fee_cents=fee,
        **extra,
    )


def test_buying_checks_dates_fee_and_overlap(studio, prices):
    tomorrow = today(studio) + timedelta(days=1)
    campaign = services.buy(
        studio,
        by=None,
        starts_on=tomorrow,
        ends_on=tomorrow + timedelta(days=3),
        daily_fee_cents=1000,
        categories=["yoga"],
    )
    assert campaign.market == studio.market and campaign.categories == ["yoga"]
    cases = [
        ({"starts_on": today(studio)}, "tomorrow"),
        ({"ends_on": tomorrow - timedelta(days=1)}, "must not be before"),
        ({"daily_fee_cents": 999, "categories": ["yoga"]}, r"at least \$10\.00"),
        ({"daily_fee_cents": 1499, "categories": []}, r"at least \$15\.00"),
        ({"categories": []}, "already have a Spotlight campaign"),  # whole market overlaps yoga
        (
            {
                "starts_on": tomorrow + timedelta(days=365),
                "ends_on": tomorrow + timedelta(days=366),
            },
            "at most 365 days ahead",
        ),
        ({"starts_on": date(9999, 12, 30), "ends_on": date(9999, 12, 31)}, "365 days ahead"),
        ({"ends_on": tomorrow + timedelta(days=366)}, "runs at most 366 days"),
    ]
    for override, message in cases:
        args = {
            "starts_on": tomorrow,
            "ends_on": tomorrow + timedelta(days=2),
            "daily_fee_cents": 2000,
            "categories": ["yoga"],
        }
        args.update(override)
        with pytest.raises(SpotlightError, match=message):
            services.buy(studio, by=None, **args)
    assert (
        SpotlightCampaign.objects.count() == 1 and not EarningEntry.objects.exists()
    )  # nothing charged


def test_a_market_without_a_price_list_sells_nothing(studio):
    tomorrow = today(studio) + timedelta(days=1)
    with pytest.raises(SpotlightError, match="not on sale"):
        services.buy(
            studio,
            by=None,
            starts_on=tomorrow,
            ends_on=tomorrow,
            daily_fee_cents=5000,
            categories=[],
        )


def test_rotation_shows_campaigns_in_proportion_to_their_fees():
    # Five campaigns for three slots: each is shown with probability 3 * fee / total.
    campaigns = [
        SpotlightCampaign(pk=i + 1, daily_fee_cents=fee)
        for i, fee in enumerate([100, 200, 300, 400, 500])
    ]
    runs = 6000
    shown = Counter(c.pk for seed in range(runs) for c in selectors.rotate(campaigns, seed=seed))
    total = sum(c.daily_fee_cents for c in campaigns)
    for campaign in campaigns:
        p = min(1.0, 3 * campaign.daily_fee_cents / total)
        expected, sigma = runs * p, (runs * p * (1 - p)) ** 0.5
        assert abs(shown[campaign.pk] - expected) <= 4 * sigma + 1, (
            campaign.pk,
            shown[campaign.pk],
            expected,
        )
    assert all(len(selectors.rotate(campaigns, seed=s)) == 3 for s in range(50))
    assert selectors.rotate(campaigns, seed=7) == selectors.rotate(
        campaigns, seed=7
    )  # deterministic per seed


def test_one_slot_is_shared_by_fee_share():
    campaigns = [
        SpotlightCampaign(pk=1, daily_fee_cents=100),
        SpotlightCampaign(pk=2, daily_fee_cents=300),
    ]
    runs = 4000
    firsts = Counter(selectors.rotate(campaigns, seed=s, slots=1)[0].pk for s in range(runs))
    assert abs(firsts[2] / runs - 0.75) < 0.03


def test_search_shows_at_most_three_labelled_matching_bookable_placements(client, market, prices):
    start = timezone.now() + timedelta(hours=3)
    studios = [factories.StudioFactory(market=market) for _ in range(5)]
    for studio in studios:
        running(studio)
        factories.ClassSessionFactory(studio=studio, starts_at=start)
    full = factories.StudioFactory(market=market)
    running(full, fee=99_999)
    factories.ClassSessionFactory(
        studio=full, starts_at=start, network_spots=2, network_booked=2
    )  # no spot left
    day = timezone.localtime(start, market.tzinfo).date()
    page = client.get(
        reverse("bookings:search"), {"market": market.slug, "day": day}
    ).content.decode()
    assert page.count("spotlight-badge") == 3 and "?spotlight=" in page
    assert full.name not in page.split('aria-label="Spotlight"')[1].split("</ul>")[0]
    boxing = client.get(
        reverse("bookings:search"), {"market": market.slug, "day": day, "category": "boxing"}
    ).content.decode()
    assert "spotlight-badge" not in boxing  # no class matches: no placement


def test_placements_respect_campaign_categories(market, prices):
    start = timezone.now() + timedelta(hours=3)
    yoga_only = factories.StudioFactory(market=market)
    running(yoga_only, categories=["yoga"])
    factories.ClassSessionFactory(studio=yoga_only, starts_at=start)
    day = timezone.localtime(start, market.tzinfo).date()
    for category, expected in (("yoga", 1), ("cycling", 0), ("", 1)):
        filters = booking_selectors.SearchFilters(day=day, category=category)
        matching = booking_selectors.search_sessions(market, filters)
        assert (
            len(booking_selectors.spotlight_placements(market, filters, matching, seed=1))
            == expected
        )


def test_a_member_without_a_plan_is_shown_placements_they_can_buy(
    client, market, prices, member, active_member
):
    """Without a plan a member can only buy a class à la carte: their placements are classes
    whose studio sells single classes and still has Premium spots, priced in money (the home
    page's placements are the same call's); a member with a plan, or a visitor, is shown all
    three studios."""
    from premium.models import PremiumSettings

    start = timezone.now() + timedelta(hours=3)
    sells, plan_only, premium_full = (factories.StudioFactory(market=market) for _ in range(3))
    PremiumSettings.objects.create(studio=sells, price_cents=2900)
    PremiumSettings.objects.create(studio=plan_only, price_cents=2900, a_la_carte_enabled=False)
    PremiumSettings.objects.create(studio=premium_full, price_cents=2900, max_spots=1)
    for studio in (sells, plan_only, premium_full):
        running(studio)
        factories.ClassSessionFactory(
            studio=studio,
            starts_at=start,
            capacity=20,
            network_spots=5,
            premium_booked=1 if studio == premium_full else 0,
        )
    day = timezone.localtime(start, market.tzinfo).date()
    filters = booking_selectors.SearchFilters(day=day)
    matching = booking_selectors.search_sessions(market, filters)

    def placed(viewer):
        placements = booking_selectors.spotlight_placements(
            market,
            filters,
            matching,
            seed=1,
            member=viewer,
            visits=booking_selectors.member_visits(viewer),
        )
        return {p.session.studio_id: p.row for p in placements}

    rows = placed(member)
    assert set(rows) == {sells.pk}
    assert (rows[sells.pk].money_cents, rows[sells.pk].spots) == (2900, "3 left")
    assert (
        set(placed(active_member)) == set(placed(None)) == {sells.pk, plan_only.pk, premium_full.pk}
    )
    assert all(row.money_cents is None for row in placed(active_member).values())
    client.force_login(member.user)
    page = client.get(reverse("bookings:search"), {"market": market.slug, "day": day})
    spotlight = page.content.decode().split('aria-label="Spotlight"')[1].split("</ul>")[0]
    assert sells.name in spotlight and "$29.00" in spotlight
    assert plan_only.name not in spotlight and premium_full.name not in spotlight
    # Once they have bought it, it is not placed for them again.
    from bookings import services as booking_services

    (bought,) = [s for s in matching if s.studio_id == sells.pk]
    held = booking_services.book(member, bought.pk, offer_kind="a_la_carte")
    booking_services.pay_hold(held.pk, member=member)
    assert placed(member) == {}


def test_counting_writes_nothing_until_the_flush(client, studio, active_member, prices):
    campaign = running(studio)
    session = factories.ClassSessionFactory(
        studio=studio, starts_at=timezone.now() + timedelta(hours=3)
    )
    day = timezone.localtime(session.starts_at, studio.market.tzinfo).date()
    with CaptureQueriesContext(connection) as queries:
        client.get(reverse("bookings:search"), {"market": studio.market.slug, "day": day})
    assert not [
        q
        for q in queries.captured_queries
        if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE"))
    ]
    client.force_login(active_member.user)
    client.get(reverse("bookings:class", args=[session.pk]), {"spotlight": campaign.pk})
    client.post(
        reverse("bookings:book", args=[session.pk]),
        {"offer": "standard", "expected_credits": 8, "spotlight": campaign.pk},
    )
    assert Reservation.objects.get().source == "spotlight"
    assert not SpotlightDay.objects.exists()
    assert services.flush_counters() == 3
    assert services.flush_counters() == 0  # a second flush moves nothing again
    row = SpotlightDay.objects.get(campaign=campaign)
    assert (row.impressions, row.clicks, row.bookings) == (1, 1, 1)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_buying_the_same_days_twice_at_once_makes_one_campaign(studio, prices):
    from tests.race import run_in_threads

    tomorrow = today(studio) + timedelta(days=1)

    def work(i: int):
        return services.buy(
            studio,
            by=None,
            starts_on=tomorrow,
            ends_on=tomorrow + timedelta(days=6),
            daily_fee_cents=1500,
            categories=[],
        )

    for _ in range(3):
        SpotlightCampaign.objects.all().delete()
        results = run_in_threads(4, work)
        bought = [r for r in results if isinstance(r, SpotlightCampaign)]
        assert len(bought) == 1, results
        assert all(isinstance(r, SpotlightError) for r in results if r not in bought), results
        assert SpotlightCampaign.objects.get().pk == bought[0].pk


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_flushes_running_at_once_move_each_count_once(studio):
    """A backlog of minute tasks (workers back after an outage) runs several flushes at once."""
    from tests.race import run_in_threads

    campaigns = [running(studio, categories=[category]) for category in ("yoga", "cycling")]
    day = today(studio)
    for round_ in range(1, 4):
        for _ in range(5):
            services.count([c.pk for c in campaigns], day, "impressions")
        moved = run_in_threads(4, lambda i: services.flush_counters())
        assert sorted(moved) == [0, 0, 0, 10], moved  # one ran; the others left it to it
        counted = SpotlightDay.objects.filter(campaign__in=campaigns, day=day)
        assert list(counted.values_list("impressions", flat=True)) == [5 * round_] * 2


def test_a_click_counts_only_for_a_campaign_of_the_class_s_studio(client, studio, market, prices):
    campaign = running(studio)
    other = factories.StudioFactory(market=market)
    session = factories.ClassSessionFactory(
        studio=other, starts_at=timezone.now() + timedelta(hours=3)
    )
    page = reverse("bookings:class", args=[session.pk])
    assert client.get(page, {"spotlight": campaign.pk}).status_code == 200
    assert client.get(page, {"spotlight": "9" * 30}).status_code == 200
    assert services.flush_counters() == 0
    own = running(other)
    client.get(page, {"spotlight": own.pk})
    assert services.flush_counters() == 1
    assert SpotlightDay.objects.get().campaign == own


def test_counts_for_a_later_days_classes_reach_the_dashboard_at_the_next_flush(
    client, studio, active_member, prices
):
    """A search of Friday's classes, a click and a booking on Monday count for Friday, and
    the studio sees them within the minute, not on Friday."""
    campaign = running(studio)
    session = factories.ClassSessionFactory(
        studio=studio, starts_at=timezone.now() + timedelta(days=3)
    )
    day = timezone.localtime(session.starts_at, studio.market.tzinfo).date()
    assert day > today(studio)
    client.force_login(active_member.user)
    client.get(reverse("bookings:search"), {"market": studio.market.slug, "day": day})
    client.get(reverse("bookings:class", args=[session.pk]), {"spotlight": campaign.pk})
    client.post(
        reverse("bookings:book", args=[session.pk]),
        {"offer": "standard", "expected_credits": 8, "spotlight": campaign.pk},
    )
    assert services.flush_counters() == 3
    row = SpotlightDay.objects.get(campaign=campaign)
    assert (row.day, row.impressions, row.clicks, row.bookings) == (day, 1, 1, 1)
    # Past the booking window nothing can be counted, so nothing is read there.
    services.count([campaign.pk], today(studio) + timedelta(days=4), "impressions")
    services.count([campaign.pk], campaign.ends_on + timedelta(days=1), "impressions")
    assert services.flush_counters() == 1


def test_a_forged_spotlight_id_is_not_credited(client, studio, active_member, prices):
    other = running(factories.StudioFactory(market=studio.market))
    session = factories.ClassSessionFactory(studio=studio)
    client.force_login(active_member.user)
    client.post(
        reverse("bookings:book", args=[session.pk]),
        {"offer": "standard", "expected_credits": 8, "spotlight": other.pk},
    )
    assert Reservation.objects.get().source == "web"
    services.flush_counters()
    assert not SpotlightDay.objects.filter(bookings__gt=0).exists()


def test_billing_charges_each_running_day_once_and_it_reaches_the_statement(studio, prices):
    campaign = running(studio, fee=1500)
    paused = running(factories.StudioFactory(market=studio.market), status="paused")
    assert services.bill_due() == 1
    assert services.bill_due() == 0
    entry = EarningEntry.objects.get(studio=studio)
    assert (entry.kind, entry.amount_cents) == (EarningKind.SPOTLIGHT, -1500)
    assert not EarningEntry.objects.filter(studio=paused.studio).exists()
    year, month = studio_selectors.current_month(studio)
    assert studio_selectors.statement(studio, year, month).spotlight_cents == -1500
    assert SpotlightDay.objects.get(campaign=campaign).fee_cents == 1500


def test_a_late_billing_run_charges_the_days_shown_while_it_was_down(studio, prices):
    """The worker was down for two days: the days the campaign was shown (impressions were
    counted and flushed) are charged once when billing runs again; a day it was paused, with
    nothing shown, is not."""
    campaign = running(studio, fee=1500)
    campaign.starts_on = today(studio) - timedelta(days=4)
    campaign.save(update_fields=["starts_on"])
    shown = [today(studio) - timedelta(days=n) for n in (2, 1)]
    for day in shown:
        SpotlightDay.objects.create(campaign=campaign, day=day, impressions=40)
    SpotlightDay.objects.create(campaign=campaign, day=today(studio) - timedelta(days=3))
    assert services.bill_due() == 3  # today, and the two days shown
    assert services.bill_due() == 0
    charged = set(EarningEntry.objects.filter(studio=studio).values_list("description", flat=True))
    assert charged == {f"Spotlight {d:%-d %b}" for d in [*shown, today(studio)]}
    too_old = SpotlightDay.objects.create(
        campaign=campaign, day=today(studio) - timedelta(days=4), impressions=9
    )
    assert services.bill_due() == 0  # beyond the catch-up window
    too_old.refresh_from_db()
    assert too_old.fee_cents == 0


def test_ending_a_campaign_stops_future_charges(studio, prices):
    campaign = running(studio)
    services.end(campaign)
    campaign.refresh_from_db()
    assert campaign.status == "ended" and campaign.ends_on == today(studio)
    assert services.bill_due() == 0
    with pytest.raises(SpotlightError):
        services.pause(campaign)


def test_owners_buy_and_steer_on_the_dashboard_others_cannot(client, studio, prices):
    owner = factories.StaffFactory(studio=studio, role=StaffRole.OWNER).user
    client.force_login(owner)
    url = reverse("partner:spotlight", args=[studio.slug])
    # The form starts at the whole market's price.
    assert 'name="daily_fee_cents" value="15.00"' in client.get(url).content.decode()
    tomorrow = today(studio) + timedelta(days=1)
    bad = client.post(
        url, {"starts_on": today(studio), "ends_on": tomorrow, "daily_fee_cents": "5.00"}
    )
    page = bad.content.decode()
    assert bad.status_code == 200 and "tomorrow" in page and "at least $15.00" in page
    assert (
        client.post(
            url, {"starts_on": tomorrow, "ends_on": tomorrow, "daily_fee_cents": "20.00"}
        ).status_code
        == 302
    )
    campaign = SpotlightCampaign.objects.get()
    client.post(reverse("partner:spotlight_steer", args=[studio.slug, campaign.pk, "pause"]))
    campaign.refresh_from_db()
    assert campaign.status == "paused"
    page = client.get(url).content.decode()
    assert "Impressions per day" in page and "(none yet)" in page and "(top " not in page
    manager = factories.StaffFactory(studio=studio, role=StaffRole.MANAGER).user
    client.force_login(manager)
    assert client.get(url).status_code == 403


def test_admin_refuses_a_campaign_for_a_studio_of_another_market(admin_client, studio, prices):
    elsewhere = factories.MarketFactory()
    response = admin_client.post(
        reverse("admin:marketing_spotlightcampaign_add"),
        {
            "studio": studio.pk,
            "market": elsewhere.pk,
            "categories": "[]",
            "starts_on": "2027-01-01",
            "ends_on": "2027-01-02",
            "daily_fee_cents": "20.00",
            "status": "active",
            "days-TOTAL_FORMS": 0,
            "days-INITIAL_FORMS": 0,
        },
    )
    assert response.status_code == 200 and "not" in response.content.decode()
    assert not SpotlightCampaign.objects.exists()


def test_admin_adds_campaigns_without_double_charging_and_steers_them_as_owners_do(
    admin_client, studio, prices
):
    running_one = running(studio)  # yesterday to five days ahead, whole market
    add = reverse("admin:marketing_spotlightcampaign_add")
    form = {
        "studio": studio.pk,
        "market": studio.market.pk,
        "categories": '["yoga"]',
        "starts_on": today(studio).isoformat(),
        "ends_on": (today(studio) + timedelta(days=2)).isoformat(),
        "daily_fee_cents": "5.00",  # a deal below the price list: admins may
        "days-TOTAL_FORMS": 0,
        "days-INITIAL_FORMS": 0,
    }
    # The same days as a running campaign would be charged twice: refused, with why.
    clash = admin_client.post(add, form).content.decode()
    assert "already has a Spotlight campaign" in clash and "end it first" in clash
    assert SpotlightCampaign.objects.count() == 1
    later = {
        **form,
        "starts_on": (today(studio) + timedelta(days=6)).isoformat(),
        "ends_on": (today(studio) + timedelta(days=8)).isoformat(),
    }
    assert admin_client.post(add, later).status_code == 302
    deal = SpotlightCampaign.objects.exclude(pk=running_one.pk).get()
    assert (deal.daily_fee_cents, deal.status) == (500, "active")
    # Bought, its terms stay; it is steered by the actions, and never deleted.
    page = admin_client.get(
        reverse("admin:marketing_spotlightcampaign_change", args=[deal.pk])
    ).content.decode()
    assert 'name="daily_fee_cents"' not in page and 'name="status"' not in page
    assert "$5.00" in page
    delete = reverse("admin:marketing_spotlightcampaign_delete", args=[deal.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    changelist = reverse("admin:marketing_spotlightcampaign_changelist")
    ended = admin_client.post(
        changelist,
        {"action": "end_campaigns", "_selected_action": [running_one.pk, deal.pk]},
        follow=True,
    ).content.decode()
    assert "2 campaign(s) ended." in ended
    running_one.refresh_from_db()
    assert (running_one.status, running_one.ends_on) == ("ended", today(studio))
    again = admin_client.post(
        changelist, {"action": "pause_campaigns", "_selected_action": [deal.pk]}, follow=True
    ).content.decode()
    assert "it cannot be paused" in again and "0 campaign(s) paused." in again


def test_search_with_placements_keeps_its_query_budget(
    client, market, active_member, prices, django_assert_max_num_queries
):
    start = timezone.now() + timedelta(hours=3)
    for _ in range(4):
        studio = factories.StudioFactory(market=market)
        running(studio)
        for n in range(6):
            factories.ClassSessionFactory(studio=studio, starts_at=start + timedelta(minutes=n))
    client.force_login(active_member.user)
    day = timezone.localtime(start, market.tzinfo).date()
    # A visitor's 8, and the member's visits per studio for the monthly limit on each row.
    with django_assert_max_num_queries(9):
        page = client.get(
            reverse("bookings:search"), {"market": market.slug, "day": day}
        ).content.decode()
    assert page.count("spotlight-badge") == 3


def test_home_page_lists_todays_placements_with_their_price(client, market, prices):
    # A market where it is around noon now, so a class in an hour is still today there.
    offset = max(-12, min(14, 12 - timezone.now().hour))
    market.timezone = f"Etc/GMT{-offset:+d}"
    market.save(update_fields=["timezone"])
    studio = factories.StudioFactory(market=market)
    running(studio)
    factories.ClassSessionFactory(
        studio=studio, starts_at=timezone.now() + timedelta(hours=1), credit_price=1
    )
    page = client.get(reverse("home")).content.decode()
    assert "spotlight-badge" in page and studio.name in page
    assert '<span class="cost"><strong>1</strong> credit</span>' in page
