"""SmartSpot and Opportunities: forecasts, releases, recommendations, runs and reruns."""

import os
import re
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from bookings import services as booking_services
from bookings.models import Reservation, ReservationStatus
from members import services as members_services
from premium import history, scans, selectors, smartspot
from premium.models import (
    Opportunity,
    OpportunityStatus,
    PremiumSettings,
    ScanChunk,
    ScanKind,
    ScanRun,
    SmartSpotRelease,
)
from studios.models import ClassSession, Schedule, StaffRole
from tests import factories

pytestmark = pytest.mark.django_db


def with_history(studio, *, empties: list[int], capacity=20, network=8, schedule=None):
    """A schedule whose past classes ended with these numbers of empty places."""
    schedule = schedule or factories.ScheduleFactory(
        studio=studio, capacity=capacity, network_spots=network
    )
    now = timezone.now()
    for weeks, empty in enumerate(empties, start=1):
        factories.ClassSessionFactory(
            studio=studio,
            schedule=schedule,
            class_type=schedule.class_type,
            starts_at=now - timedelta(weeks=weeks),
            capacity=capacity,
            network_spots=network,
            network_booked=network,
            studio_booked=capacity - network - empty,
        )
    return schedule


def sold_out(studio, schedule, *, hours=20, capacity=20, network=8, studio_booked=4):
    return factories.ClassSessionFactory(
        studio=studio,
        schedule=schedule,
        class_type=schedule.class_type,
        starts_at=timezone.now() + timedelta(hours=hours),
        capacity=capacity,
        network_spots=network,
        network_booked=network,
        studio_booked=studio_booked,
    )


def test_smartspot_releases_part_of_the_forecast_empties_and_records_why(studio):
    schedule = with_history(studio, empties=[6, 5, 7, 6])  # 6 empty a class on average
    session = sold_out(studio, schedule)
    PremiumSettings.objects.create(studio=studio, price_cents=3000, smartspot_cap=5)
    run, _ = scans.run_inline(ScanKind.SMARTSPOT)
    release = SmartSpotRelease.objects.get(session=session)
    assert release.forecast_empty == 6.0 and release.spots_released == 3  # 60 % of 6, rounded down
    assert release.inputs["level"] == "slot" and release.inputs["classes"] == 4
    assert release.model_version == smartspot.MODEL_VERSION and release.run == run
    session.refresh_from_db()
    assert session.network_spots == 11 and run.finished_at is not None


def test_the_partner_api_lists_releases_with_their_forecast_and_then_their_outcome(studio):
    from rest_framework.test import APIClient

    def api_as(role):
        client = APIClient()
        _, token = members_services.create_api_token(
            factories.StaffFactory(studio=studio, role=role).user
        )
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        return client

    schedule = with_history(studio, empties=[6, 5, 7, 6])
    session = sold_out(studio, schedule)
    PremiumSettings.objects.create(studio=studio, price_cents=3000, smartspot_cap=5)
    elsewhere = factories.StudioFactory(market=studio.market)  # its release is not shown
    sold_out(elsewhere, with_history(elsewhere, empties=[6, 6, 6]))
    scans.run_inline(ScanKind.SMARTSPOT)
    assert SmartSpotRelease.objects.count() == 2
    owner = api_as(StaffRole.OWNER)
    url = f"/api/v1/partner/{studio.slug}/smartspot/"
    (shown,) = owner.get(url).json()["results"]
    assert (shown["session"], shown["spots_released"], shown["network_spots_before"]) == (
        session.pk,
        3,
        8,
    )
    assert shown["forecast_empty"] == 6.0 and shown["inputs"]["level"] == "slot"
    assert (shown["sold"], shown["attended"], shown["empty"], shown["outcome_at"]) == (None,) * 4
    smartspot.record_outcomes(now=session.starts_at + timedelta(hours=2))
    (shown,) = owner.get(url).json()["results"]
    # Nobody booked the released places, and nobody was checked in: the room of 20 had only
    # the desk's 4.
    assert (shown["sold"], shown["attended"], shown["empty"]) == (0, 0, 20 - 4)
    assert shown["outcome_at"] is not None
    assert api_as(StaffRole.MANAGER).get(url).status_code == 200
    assert api_as(StaffRole.FRONT_DESK).get(url).status_code == 403


def test_smartspot_stays_within_the_cap_and_the_room(studio):
    schedule = with_history(studio, empties=[12, 12, 12])
    capped = sold_out(studio, schedule)  # room left 8, forecast 7.2 -> cap 2 (default)
    tight = sold_out(studio, schedule, hours=30, studio_booked=11)  # room left 1
    scans.run_inline(ScanKind.SMARTSPOT)
    assert SmartSpotRelease.objects.get(session=capped).spots_released == 2
    assert SmartSpotRelease.objects.get(session=tight).spots_released == 1
    for session, released in ((capped, 2), (tight, 1)):
        session.refresh_from_db()
        assert session.network_spots == 8 + released  # each class raised by its own release
        assert (
            session.studio_booked + session.network_booked + session.premium_booked
            <= session.capacity
        )


def test_smartspot_skips_off_studios_far_classes_and_open_classes(studio):
    schedule = with_history(studio, empties=[8, 8, 8])
    sold_out(studio, schedule, hours=60)  # beyond 48 h
    factories.ClassSessionFactory(
        studio=studio,
        schedule=schedule,
        class_type=schedule.class_type,
        starts_at=timezone.now() + timedelta(hours=5),
        network_booked=3,
    )  # not sold out
    other = factories.StudioFactory(market=studio.market)
    PremiumSettings.objects.create(studio=other, price_cents=3000, smartspot_enabled=False)
    sold_out(other, with_history(other, empties=[8, 8, 8]))
    scans.run_inline(ScanKind.SMARTSPOT)
    assert not SmartSpotRelease.objects.exists()


def test_forecast_falls_back_to_the_studio_then_the_category(studio):
    thin = with_history(studio, empties=[9])  # one class of history: not enough
    with_history(studio, empties=[4, 4, 4])  # the studio's other slot
    session = sold_out(studio, thin)
    scans.run_inline(ScanKind.SMARTSPOT)
    release = SmartSpotRelease.objects.get(session=session)
    assert release.inputs["level"] == "studio" and release.inputs["classes"] == 4
    newcomer = factories.StudioFactory(market=studio.market)
    past = history.load(studio.market_id, [newcomer.pk], now=timezone.now())
    level, stats = past.best(schedule_id=None, studio_id=newcomer.pk, category="yoga")
    assert level == "category" and stats.classes == 4


def test_no_shows_at_one_off_classes_count_for_their_own_studio_only(studio):
    """Classes with no schedule are grouped per studio: another studio's no-shows at its own
    one-off classes must not make this studio's classes look emptier than they were."""
    other = factories.StudioFactory(market=studio.market)
    member = factories.MemberFactory(home_market=studio.market)
    for weeks in (1, 2, 3):
        for at in (studio, other):
            session = factories.ClassSessionFactory(
                studio=at,
                starts_at=timezone.now() - timedelta(weeks=weeks),
                network_spots=8,
                network_booked=8,
                studio_booked=12,
            )
            if at == other:
                Reservation.objects.create(
                    member=member,
                    session=session,
                    studio=other,
                    starts_at=session.starts_at,
                    currency=studio.market.currency,
                    studio_payout_cents=0,
                    status=ReservationStatus.MISSED,
                )
    past = history.load(studio.market_id, [studio.pk, other.pk], now=timezone.now())
    assert (past.by_studio[studio.pk].no_shows, past.by_studio[studio.pk].empty) == (0, 0)
    assert (past.by_studio[other.pk].no_shows, past.by_studio[other.pk].empty) == (3, 3)


def _newcomers_with_a_sold_out_class(studio, n: int) -> list[ClassSession]:
    """Studios with no past classes of their own, each with a yoga class sold out tomorrow."""
    sessions = []
    for _ in range(n):
        newcomer = factories.StudioFactory(market=studio.market)
        schedule = factories.ScheduleFactory(studio=newcomer, capacity=20, network_spots=8)
        sessions.append(sold_out(newcomer, schedule))
    return sessions


def test_a_run_reads_the_market_category_history_once_for_all_its_chunks(studio):
    with_history(studio, empties=[5, 5, 5])  # the market's yoga history: 5 empty a class
    newcomers = _newcomers_with_a_sold_out_class(studio, 3)
    with CaptureQueriesContext(connection) as queries:
        run, _ = scans.run_inline(ScanKind.SMARTSPOT, chunk_studios=1)
    assert run.chunks.count() == 4
    for session in newcomers:  # each chunk forecast from the market's categories
        release = SmartSpotRelease.objects.get(session=session)
        assert release.inputs["level"] == "category" and release.inputs["classes"] == 3
        assert release.spots_released == 2  # 60 % of 5, within the default cap of 2
    grouped_by_category = [
        q for q in queries.captured_queries if '"category"' in q["sql"] and "GROUP BY" in q["sql"]
    ]
    assert len(grouped_by_category) == 2  # the classes and their marks, once for 4 chunks
    stored = run.category_history[str(studio.market_id)]["yoga"]
    assert stored["classes"] == 3 and stored["empty"] == 15


def test_a_run_started_without_category_history_reads_it_per_chunk(studio):
    """A run left unfinished by a version that did not store it resumes all the same."""
    with_history(studio, empties=[5, 5, 5])
    newcomers = _newcomers_with_a_sold_out_class(studio, 2)
    run = scans.start(ScanKind.SMARTSPOT, chunk_studios=1)
    ScanRun.objects.filter(pk=run.pk).update(category_history={})
    scans.run_inline(ScanKind.SMARTSPOT)  # resumes the run
    for session in newcomers:
        release = SmartSpotRelease.objects.get(session=session)
        assert release.inputs["level"] == "category" and release.spots_released == 2
        assert release.run_id == run.pk


def test_a_rerun_never_releases_twice(studio):
    schedule = with_history(studio, empties=[6, 6, 6])
    session = sold_out(studio, schedule)
    scans.run_inline(ScanKind.SMARTSPOT)
    scans.run_inline(ScanKind.SMARTSPOT)
    assert SmartSpotRelease.objects.filter(session=session).count() == 1
    session.refresh_from_db()
    assert session.network_spots == 10


def test_released_places_go_to_waiting_members_first(
    studio, market, plan, django_capture_on_commit_callbacks
):
    schedule = with_history(studio, empties=[6, 6, 6])
    session = sold_out(studio, schedule)
    waiting = factories.MemberFactory(home_market=market)
    members_services.choose_plan(waiting, plan)
    booking_services.join_waitlist(waiting, session.pk)
    with django_capture_on_commit_callbacks(execute=True):
        scans.run_inline(ScanKind.SMARTSPOT)
    assert Reservation.objects.filter(member=waiting, session=session, source="waitlist").exists()


def test_outcomes_are_recorded_after_the_class(studio, active_member):
    schedule = with_history(studio, empties=[6, 6, 6])
    session = sold_out(studio, schedule, hours=3)
    scans.run_inline(ScanKind.SMARTSPOT)
    booking_services.book(active_member, session.pk)  # a released place sells
    later = session.starts_at + timedelta(hours=2)
    assert smartspot.record_outcomes(now=later) == 1
    release = SmartSpotRelease.objects.get(session=session)
    assert (release.sold, release.attended, release.empty) == (1, 0, 20 - 4)
    assert smartspot.record_outcomes(now=later) == 0


def test_dry_run_writes_nothing_and_unknown_market_is_an_error(studio, capsys):
    schedule = with_history(studio, empties=[6, 6, 6])
    sold_out(studio, schedule)
    call_command("smartspot_scan", "--dry-run")
    assert "1 classes, 2 spots (would change)" in capsys.readouterr().out  # the default cap
    assert not SmartSpotRelease.objects.exists() and not ScanRun.objects.exists()
    with pytest.raises(CommandError, match="No market 'atlantis'"):
        call_command("smartspot_scan", "--market", "atlantis")
    for bad in ("-1", "nan", "inf"):
        with pytest.raises(CommandError, match="--pause must be between 0 and 3600"):
            call_command("opportunities_scan", "--pause", bad)
    assert not ScanRun.objects.exists()
    call_command("smartspot_scan", "--market", studio.market.slug)
    assert SmartSpotRelease.objects.count() == 1


def test_opportunities_recommend_spots_for_demand_with_a_reason(studio, market, plan):
    schedule = with_history(studio, empties=[2, 2, 2], capacity=20, network=8)
    early = sold_out(studio, schedule, hours=24 * 4)
    waiting = factories.MemberFactory(home_market=market)
    members_services.choose_plan(waiting, plan)
    booking_services.join_waitlist(waiting, early.pk)
    quiet = factories.ClassSessionFactory(
        studio=studio, starts_at=timezone.now() + timedelta(days=2)
    )
    scans.run_inline(ScanKind.OPPORTUNITIES)
    opportunity = Opportunity.objects.get()
    assert opportunity.session == early and opportunity.status == OpportunityStatus.OPEN
    assert opportunity.suggested_spots == 2  # a quarter of 8, rounded up; 1 waiting
    assert (
        "Sold out 4 days ahead" in opportunity.reason and "1 member waiting" in opportunity.reason
    )
    assert "this slot sold 100%" in opportunity.reason
    assert opportunity.expected_revenue_cents == round(2 * studio.payout_rate_cents * 0.95)
    scans.run_inline(ScanKind.OPPORTUNITIES)
    assert Opportunity.objects.count() == 1
    assert not Opportunity.objects.filter(session=quiet).exists()


def test_members_still_waiting_beside_an_open_spot_are_no_demand(studio, market, plan):
    """SmartSpot released a place inside the promotion cutoff, or the first member waiting was
    passed over: a member still waits while a network spot is open. Anyone can book that spot,
    so the class needs no more spots; a full class with a member waiting does."""
    from bookings.models import WaitlistEntry

    open_spot = factories.ClassSessionFactory(
        studio=studio, capacity=20, network_spots=8, network_booked=7
    )
    full = factories.ClassSessionFactory(
        studio=studio, capacity=20, network_spots=8, network_booked=8
    )
    for session in (open_spot, full):
        member = factories.MemberFactory(home_market=market)
        members_services.choose_plan(member, plan)
        WaitlistEntry.objects.create(session=session, member=member)

    scans.run_inline(ScanKind.OPPORTUNITIES)

    assert list(Opportunity.objects.values_list("session", flat=True)) == [full.pk]
    assert "1 member waiting" in Opportunity.objects.get().reason


def test_accepting_raises_the_allocation_and_promotes_the_waitlist(studio, market, plan):
    schedule = with_history(studio, empties=[2, 2, 2])
    session = sold_out(studio, schedule, hours=72)
    waiting = factories.MemberFactory(home_market=market)
    members_services.choose_plan(waiting, plan)
    booking_services.join_waitlist(waiting, session.pk)
    scans.run_inline(ScanKind.OPPORTUNITIES)
    owner = factories.StaffFactory(studio=studio, role=StaffRole.MANAGER).user
    from django.test import Client

    client = Client()
    client.force_login(owner)
    opportunity = Opportunity.objects.get()
    page = client.get(reverse("partner:opportunities", args=[studio.slug])).content.decode()
    assert opportunity.reason in page
    client.post(reverse("partner:opportunity_decide", args=[studio.slug, opportunity.pk, "accept"]))
    opportunity.refresh_from_db()
    session.refresh_from_db()
    assert (
        opportunity.status == OpportunityStatus.ACCEPTED and opportunity.network_spots_before == 8
    )
    assert session.network_spots == 10
    assert Reservation.objects.filter(member=waiting, session=session).exists()
    scans.run_inline(ScanKind.OPPORTUNITIES)
    assert Opportunity.objects.get().status == OpportunityStatus.ACCEPTED


def test_the_opportunities_page_lists_what_the_team_decided_and_what_it_sold(
    client, studio, market, plan, django_assert_max_num_queries
):
    """Below the open recommendations, the latest decided ones: accepted (with the spots it
    added and how many of them the network sold) or dismissed, who decided and when, in the
    studio's time. Another studio's decisions are not shown."""
    schedule = with_history(studio, empties=[2, 2, 2])
    taken = sold_out(studio, schedule, hours=72)
    left = sold_out(studio, schedule, hours=96)
    elsewhere = factories.StudioFactory(market=market)
    sold_out(elsewhere, with_history(elsewhere, empties=[2, 2, 2]), hours=72)
    waiting = factories.MemberFactory(home_market=market)
    members_services.choose_plan(waiting, plan)
    booking_services.join_waitlist(waiting, taken.pk)
    scans.run_inline(ScanKind.OPPORTUNITIES)
    assert Opportunity.objects.count() == 3
    manager = factories.StaffFactory(studio=studio, role=StaffRole.MANAGER).user
    client.force_login(manager)
    url = reverse("partner:opportunities", args=[studio.slug])
    assert "<h2>Decided</h2>" not in client.get(url).content.decode()
    mine = {o.session_id: o for o in Opportunity.objects.filter(studio=studio)}
    decide = "partner:opportunity_decide"
    client.post(reverse(decide, args=[studio.slug, mine[taken.pk].pk, "accept"]))
    client.post(reverse(decide, args=[studio.slug, mine[left.pk].pk, "dismiss"]))
    from premium import services

    other = Opportunity.objects.get(studio=elsewhere)
    services.accept_opportunity(other, by=factories.UserFactory(email="them@elsewhere.test"))

    decided = selectors.decided_opportunities(studio)
    assert [(o.session_id, o.status) for o in decided] == [
        (left.pk, OpportunityStatus.DISMISSED),
        (taken.pk, OpportunityStatus.ACCEPTED),
    ]
    # Two spots added; the member waiting took one of them.
    assert [(o.suggested_spots, o.sold_extra) for o in decided] == [(2, 0), (2, 1)]
    with django_assert_max_num_queries(12):
        page = client.get(url).content.decode()
    table = page[page.index("<h2>Decided</h2>") :]
    rows = re.findall(r"<tr><td>(.*?)</tr>", table, re.S)
    tz = market.timezone
    cells = [
        [" ".join(re.sub(r"<[^>]+>", " ", c).split()) for c in re.split("</td>", r)] for r in rows
    ]
    decided_at = [
        timezone.localtime(o.decided_at, ZoneInfo(tz)).strftime("%-d %b, %H:%M") for o in decided
    ]
    assert [c[1:5] for c in cells] == [
        [f"Dismissed {decided_at[0]}", manager.email, "—", "—"],
        [f"Accepted {decided_at[1]}", manager.email, "+2", "1"],
    ]
    assert "them@elsewhere.test" not in page


def test_accepting_for_the_schedule_raises_every_upcoming_class(studio):
    schedule = with_history(studio, empties=[2, 2, 2])
    Schedule.objects.filter(pk=schedule.pk).update(
        starts_on=timezone.localdate() - timedelta(days=60)
    )
    session = sold_out(studio, schedule, hours=72)
    later = factories.ClassSessionFactory(
        studio=studio,
        schedule=schedule,
        class_type=schedule.class_type,
        starts_at=timezone.now() + timedelta(days=6),
        network_spots=8,
    )
    scans.run_inline(ScanKind.OPPORTUNITIES)
    from premium import services

    services.accept_opportunity(Opportunity.objects.get(session=session), by=None, scope="schedule")
    schedule.refresh_from_db()
    later.refresh_from_db()
    session.refresh_from_db()
    assert (
        schedule.network_spots == 10 and later.network_spots == 10 and session.network_spots == 10
    )


def test_a_refused_schedule_change_leaves_the_recommendation_open(studio):
    schedule = with_history(studio, empties=[2, 2, 2])
    session = sold_out(studio, schedule, hours=72)
    scans.run_inline(ScanKind.OPPORTUNITIES)
    Schedule.objects.filter(pk=schedule.pk).update(weekdays=[])  # a change it would refuse
    from premium import services
    from studios.errors import InventoryError

    opportunity = Opportunity.objects.get(session=session)
    with pytest.raises(InventoryError):
        services.accept_opportunity(opportunity, by=None, scope="schedule")
    opportunity.refresh_from_db()
    session.refresh_from_db()
    assert opportunity.status == OpportunityStatus.OPEN and opportunity.decided_at is None
    assert session.network_spots == 8
    accepted = services.accept_opportunity(opportunity, by=None, scope="session")
    session.refresh_from_db()
    assert accepted.status == OpportunityStatus.ACCEPTED and session.network_spots == 10
    with pytest.raises(InventoryError, match="is accepted"):
        services.accept_opportunity(opportunity, by=None)
    with pytest.raises(InventoryError, match="is accepted"):
        services.dismiss_opportunity(opportunity, by=None)
    session.refresh_from_db()
    assert session.network_spots == 10


def test_dismissed_stays_dismissed_and_started_classes_expire(studio):
    schedule = with_history(studio, empties=[2, 2, 2])
    session = sold_out(studio, schedule, hours=72)
    scans.run_inline(ScanKind.OPPORTUNITIES)
    from premium import services

    services.dismiss_opportunity(Opportunity.objects.get(), by=None)
    scans.run_inline(ScanKind.OPPORTUNITIES)
    assert Opportunity.objects.get().status == OpportunityStatus.DISMISSED
    Opportunity.objects.update(status=OpportunityStatus.OPEN)
    ClassSession.objects.filter(pk=session.pk).update(
        starts_at=timezone.now() - timedelta(minutes=1)
    )
    scans.run_inline(ScanKind.OPPORTUNITIES)
    assert Opportunity.objects.get().status == OpportunityStatus.EXPIRED


def test_smartspot_page_shows_releases_and_accuracy(client, studio):
    schedule = with_history(studio, empties=[6, 6, 6])
    session = sold_out(studio, schedule, hours=2)
    scans.run_inline(ScanKind.SMARTSPOT)
    smartspot.record_outcomes(now=session.starts_at + timedelta(hours=2))
    client.force_login(factories.StaffFactory(studio=studio).user)
    page = client.get(reverse("partner:smartspot", args=[studio.slug])).content.decode()
    assert "1 classes with outcomes" in page and session.class_type.name in page


def test_the_celery_tasks_run_a_scan_as_a_group(studio):
    from premium import tasks

    schedule = with_history(studio, empties=[6, 6, 6])
    sold_out(studio, schedule)
    tasks.start_smartspot_scan.delay()
    assert SmartSpotRelease.objects.count() == 1
    assert ScanRun.objects.get().finished_at is not None
    assert tasks.resume_scans.delay().get() == 0
    names = {e["task"] for e in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {
        "premium.tasks.start_smartspot_scan",
        "premium.tasks.start_opportunities_scan",
        "premium.tasks.resume_scans",
    } <= names


def test_one_unfinished_run_per_kind_and_a_second_start_resumes_it(studio):
    first = scans.start(ScanKind.SMARTSPOT)
    assert scans.start(ScanKind.SMARTSPOT).pk == first.pk
    assert scans.start(ScanKind.OPPORTUNITIES).pk != first.pk


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_run_killed_half_way_and_rerun_writes_everything_once(market):
    studios = [factories.StudioFactory(market=market) for _ in range(8)]
    sessions = []
    for studio in studios:
        sessions.append(sold_out(studio, with_history(studio, empties=[6, 6, 6])))
    db = settings.DATABASES["default"]
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    env = {**os.environ, "DATABASE_URL": url, "CELERY_TASK_ALWAYS_EAGER": "1"}
    root = Path(__file__).resolve().parents[2]
    command = [
        sys.executable,
        str(root / "manage.py"),
        "smartspot_scan",
        "--chunk-studios",
        "1",
        "--pause",
        "0.5",
    ]
    process = subprocess.Popen(
        command, env=env, cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 60
        while (
            ScanChunk.objects.filter(done_at__isnull=False).count() < 2
            and time.monotonic() < deadline
        ):
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    run = ScanRun.objects.get()
    done = ScanChunk.objects.filter(done_at__isnull=False).count()
    assert run.finished_at is None and 2 <= done < 8, done  # killed half-way
    assert SmartSpotRelease.objects.count() == done  # each done chunk wrote its one release
    subprocess.run(command[:-2], env=env, cwd=root, check=True, capture_output=True)
    assert SmartSpotRelease.objects.count() == 8
    assert ScanRun.objects.get().finished_at is not None
    for session in sessions:
        session.refresh_from_db()
        assert session.network_spots == 8 + 2  # 60 % of 6 is 3, capped at the default 2


def test_the_command_recommends_and_the_page_dismisses_once(client, studio):
    schedule = with_history(studio, empties=[2, 2, 2])
    session = sold_out(studio, schedule, hours=72)
    call_command("opportunities_scan")
    opportunity = Opportunity.objects.get(session=session)
    owner = factories.StaffFactory(studio=studio, role=StaffRole.MANAGER).user
    client.force_login(owner)

    def decide(decision):
        url = reverse("partner:opportunity_decide", args=[studio.slug, opportunity.pk, decision])
        return client.post(url, follow=True)

    assert "Recommendation dismissed" in decide("dismiss").content.decode()
    opportunity.refresh_from_db()
    assert opportunity.status == OpportunityStatus.DISMISSED
    refused = decide("accept").content.decode()
    assert "This recommendation is dismissed." in refused
    session.refresh_from_db()
    assert session.network_spots == 8  # nothing added
    assert decide("maybe").status_code == 404
