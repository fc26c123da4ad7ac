"""Premium and à la carte through the real booking engine."""

import math
import re
from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from bookings import services
from bookings.errors import HoldExpired, OfferNotAvailable, PaymentDeclined, SoldOut
from bookings.models import Reservation, ReservationStatus
from members import services as members_services
from members.errors import PaymentUnavailable
from members.models import CreditEntry, Payment, PaymentKind, PaymentStatus
from premium import selectors
from premium.models import PremiumPrice, PremiumSettings
from studios.models import AuditEntry, ClassSession, EarningEntry, EarningKind, StaffRole
from tests import factories, payments

pytestmark = pytest.mark.django_db


@pytest.fixture
def premium(studio):
    # $30 premium price at $2.00 a credit: 15 credits; at most 2 Premium spots a class.
    return PremiumSettings.objects.create(studio=studio, price_cents=3000, max_spots=2)


def offers(session, member):
    """The offers the class's page shows the member now."""
    from bookings.offers import collect_offers

    ctx = services.booking_context(session, member, timezone.now())
    return {o.kind: o for o in collect_offers(ctx)}


def test_a_limit_reached_gets_premium_with_its_reason(active_member, studio, premium):
    studio.monthly_visit_limit = 1
    studio.save()
    services.book(active_member, factories.ClassSessionFactory(studio=studio, credit_price=2).pk)
    session = factories.ClassSessionFactory(studio=studio, capacity=20, network_spots=10)
    available = offers(session, active_member)
    assert (
        not available["standard"].available
        and "reached your 1 visits" in available["standard"].reason
    )
    premium_offer = available["premium"]
    assert (
        premium_offer.available
        and premium_offer.credits == 15
        and premium_offer.premium_reason == "limit_reached"
    )
    reservation = services.book(active_member, session.pk, offer_kind="premium")
    assert (reservation.kind, reservation.premium_reason, reservation.credits_spent) == (
        "premium",
        "limit_reached",
        15,
    )
    assert reservation.studio_payout_cents == 3000 and reservation.counter == "premium"
    session.refresh_from_db()
    assert (session.network_booked, session.premium_booked) == (0, 1)


def test_network_sold_out_with_room_left_gets_premium(active_member, studio, premium):
    session = factories.ClassSessionFactory(
        studio=studio, capacity=20, network_spots=5, network_booked=5
    )
    reservation = services.book(active_member, session.pk, offer_kind="premium")
    assert reservation.premium_reason == "network_sold_out"


def test_zero_network_allocation_gets_premium(active_member, studio, premium):
    session = factories.ClassSessionFactory(studio=studio, capacity=20, network_spots=0)
    reservation = services.book(active_member, session.pk, offer_kind="premium")
    assert reservation.premium_reason == "zero_allocation"


def test_a_la_carte_for_a_user_without_a_plan(
    member, studio, premium, django_capture_on_commit_callbacks
):
    session = factories.ClassSessionFactory(studio=studio)
    offer = offers(session, member)["a_la_carte"]
    assert (
        offer.available and offer.money_cents == 3000 and offer.label == "Buy this class for $30.00"
    )
    held = services.book(member, session.pk, offer_kind="a_la_carte")
    assert held.status == ReservationStatus.HELD and held.hold_expires_at > timezone.now()
    session.refresh_from_db()
    assert session.premium_booked == 1
    with django_capture_on_commit_callbacks(execute=True):
        paid = services.pay_hold(held.pk, member=member)
    assert paid.status == ReservationStatus.BOOKED and paid.payment.amount_cents == 3000
    assert (paid.kind, paid.premium_reason) == ("a_la_carte", "a_la_carte")
    assert Payment.objects.get(kind=PaymentKind.A_LA_CARTE).status == PaymentStatus.SUCCEEDED
    # The booking's e-mail is the receipt the page promises: it says what was charged.
    from studios import outbox

    outbox.relay()
    (receipt,) = [m for m in mail.outbox if m.subject.startswith("You're booked")]
    assert "$30.00 was charged for this class." in receipt.body
    assert "$30.00 was charged for this class." in receipt.alternatives[0][0]
    again = services.pay_hold(held.pk, member=member)  # a double confirmation
    assert again.pk == paid.pk and Payment.objects.filter(kind=PaymentKind.A_LA_CARTE).count() == 1


def test_premium_is_never_offered_while_a_standard_spot_is_open(active_member, studio, premium):
    session = factories.ClassSessionFactory(studio=studio, capacity=20, network_spots=10)
    assert set(offers(session, active_member)) == {"standard"}
    with pytest.raises(OfferNotAvailable):
        services.book(active_member, session.pk, offer_kind="premium")


def test_premium_stops_at_the_cap_and_at_the_room(active_member, market, plan, studio, premium):
    capped = factories.ClassSessionFactory(
        studio=studio, capacity=30, network_spots=0, premium_booked=2
    )
    with pytest.raises(SoldOut):
        services.book(active_member, capped.pk, offer_kind="premium")
    full = factories.ClassSessionFactory(
        studio=studio, capacity=12, network_spots=10, network_booked=10, studio_booked=2
    )
    assert not offers(full, active_member)["premium"].available
    with pytest.raises(SoldOut):
        services.book(active_member, full.pk, offer_kind="premium")
    # One room spot left beyond the allocation: exactly one Premium booking fits.
    tight = factories.ClassSessionFactory(
        studio=studio, capacity=12, network_spots=10, network_booked=10, studio_booked=1
    )
    services.book(active_member, tight.pk, offer_kind="premium")
    other = factories.MemberFactory(home_market=market)
    members_services.choose_plan(other, plan)
    with pytest.raises(SoldOut):
        services.book(other, tight.pk, offer_kind="premium")


def test_premium_credit_price_is_rounded_up_and_class_types_can_override(
    active_member, studio, premium
):
    yoga = factories.ClassTypeFactory(studio=studio)
    PremiumPrice.objects.create(studio=studio, class_type=yoga, price_cents=3001)
    session = factories.ClassSessionFactory(studio=studio, class_type=yoga, network_spots=0)
    offer = offers(session, active_member)["premium"]
    assert offer.credits == math.ceil(3001 / 200) == 16 and offer.studio_payout_cents == 3001
    assert "$30.01 premium price at $2.00 a credit" in offer.explanation


def test_my_schedule_history_shows_what_a_class_bought_a_la_carte_cost(
    client, member, studio, premium
):
    session = factories.ClassSessionFactory(studio=studio)
    held = services.book(member, session.pk, offer_kind="a_la_carte")
    services.pay_hold(held.pk, member=member)
    ClassSession.objects.filter(pk=session.pk).update(starts_at=timezone.now() - timedelta(days=1))
    Reservation.objects.filter(pk=held.pk).update(
        starts_at=timezone.now() - timedelta(days=1), status=ReservationStatus.ATTENDED
    )
    client.force_login(member.user)
    history = client.get(reverse("bookings:schedule")).content.decode().split("<h2>History</h2>")
    row = history[1][history[1].index(session.class_type.name) :]
    row = row[: row.index("</tr>")]
    # The money paid, not '0' credits.
    assert "$30.00" in row and ">0<" not in row and "credit" not in row


def test_buying_a_la_carte_with_an_active_plan_is_not_offered(active_member, studio, premium):
    session = factories.ClassSessionFactory(studio=studio)
    assert "a_la_carte" not in offers(session, active_member)
    with pytest.raises(OfferNotAvailable):
        services.book(active_member, session.pk, offer_kind="a_la_carte")


def test_a_declined_payment_releases_the_spot_and_charges_nothing(market, studio, premium):
    member = factories.MemberFactory(home_market=market, declines=True)
    session = factories.ClassSessionFactory(studio=studio)
    held = services.book(member, session.pk, offer_kind="a_la_carte")
    with pytest.raises(PaymentDeclined, match="declined"):
        services.pay_hold(held.pk, member=member)
    held.refresh_from_db()
    session.refresh_from_db()
    assert held.status == ReservationStatus.EXPIRED and session.premium_booked == 0
    assert not Payment.objects.filter(status=PaymentStatus.SUCCEEDED).exists()
    with pytest.raises(HoldExpired):
        services.pay_hold(held.pk, member=member)


def test_an_expired_hold_frees_the_spot_and_cannot_be_paid(member, studio, premium):
    session = factories.ClassSessionFactory(studio=studio)
    held = services.book(member, session.pk, offer_kind="a_la_carte")
    later = timezone.now() + timedelta(minutes=11)
    assert services.expire_holds(now=later) == 1
    assert services.expire_holds(now=later) == 0
    session.refresh_from_db()
    assert session.premium_booked == 0
    with pytest.raises(HoldExpired):
        services.pay_hold(held.pk, member=member, now=later)
    assert not Payment.objects.exists()


def test_a_class_cancelled_during_a_payment_hold_charges_nothing(member, studio, premium):
    session = factories.ClassSessionFactory(studio=studio)
    held = services.book(member, session.pk, offer_kind="a_la_carte")
    assert services.cancel_session(session.pk) == 0  # nobody was booked yet
    with pytest.raises(HoldExpired, match="cancelled by the studio"):
        services.pay_hold(held.pk, member=member)
    held.refresh_from_db()
    session.refresh_from_db()
    assert held.status == ReservationStatus.CANCELLED and session.premium_booked == 0
    assert not Payment.objects.exists()
    assert services.expire_holds(now=timezone.now() + timedelta(minutes=11)) == 0


def test_a_hold_left_on_a_cancelled_class_expires_without_touching_its_counters(
    member, market, studio, premium
):
    cancelled = factories.ClassSessionFactory(studio=studio)
    left = services.book(member, cancelled.pk, offer_kind="a_la_carte")
    # A hold that outlived its class's cancellation: the class's counters are already zero.
    ClassSession.objects.filter(pk=cancelled.pk).update(status="cancelled", premium_booked=0)
    other = factories.ClassSessionFactory(studio=studio)
    held = services.book(
        factories.MemberFactory(home_market=market), other.pk, offer_kind="a_la_carte"
    )
    assert services.expire_holds(now=timezone.now() + timedelta(minutes=11)) == 2
    cancelled.refresh_from_db()
    other.refresh_from_db()
    assert (cancelled.premium_booked, other.premium_booked) == (0, 0)
    left.refresh_from_db()
    held.refresh_from_db()
    assert left.status == held.status == ReservationStatus.EXPIRED


def test_paying_after_the_hold_ran_out_is_refused_even_before_the_sweep(member, studio, premium):
    session = factories.ClassSessionFactory(studio=studio)
    held = services.book(member, session.pk, offer_kind="a_la_carte")
    with pytest.raises(HoldExpired, match="expired"):
        services.pay_hold(
            held.pk, member=member, now=timezone.now() + timedelta(minutes=10, seconds=1)
        )
    session.refresh_from_db()
    assert session.premium_booked == 0 and not Payment.objects.exists()


def test_a_la_carte_refunds_follow_the_cancellation_window(member, studio, premium):
    early = factories.ClassSessionFactory(studio=studio)
    paid = services.pay_hold(
        services.book(member, early.pk, offer_kind="a_la_carte").pk, member=member
    )
    services.cancel(paid.pk, member=member)
    assert Payment.objects.get(kind=PaymentKind.REFUND).amount_cents == -3000
    late = factories.ClassSessionFactory(
        studio=studio, starts_at=timezone.now() + timedelta(hours=2)
    )
    paid = services.pay_hold(
        services.book(member, late.pk, offer_kind="a_la_carte").pk, member=member
    )
    services.cancel(paid.pk, member=member)
    assert (
        Payment.objects.filter(kind=PaymentKind.REFUND).count() == 1
    )  # no refund inside the window
    assert not Payment.objects.filter(
        kind=PaymentKind.LATE_CANCEL_FEE
    ).exists()  # and no fee on top
    assert EarningEntry.objects.get(kind=EarningKind.PREMIUM).amount_cents == 3000


def test_premium_attendance_pays_the_premium_price(active_member, studio, premium):
    session = factories.ClassSessionFactory(
        studio=studio, network_spots=0, starts_at=timezone.now() + timedelta(minutes=30)
    )
    reservation = services.book(active_member, session.pk, offer_kind="premium")
    services.mark_attended(reservation.pk, now=session.starts_at)
    entry = EarningEntry.objects.get()
    assert (entry.kind, entry.amount_cents) == (EarningKind.PREMIUM, 3000)
    assert CreditEntry.objects.filter(member=active_member, kind="booking").get().amount == -15


def test_disabled_premium_offers_nothing(active_member, studio, premium):
    premium.enabled = False
    premium.save()
    session = factories.ClassSessionFactory(studio=studio, network_spots=0)
    assert set(offers(session, active_member)) == {"standard"}


def test_studios_without_settings_get_the_defaults(member, studio):
    settings = selectors.settings_for(studio)
    assert settings.pk is None and settings.price_cents == 2600 and settings.max_spots == 3
    session = factories.ClassSessionFactory(studio=studio)
    assert offers(session, member)["a_la_carte"].money_cents == 2600


def test_class_page_shows_both_prices_and_the_reason(client, active_member, studio, premium):
    studio.monthly_visit_limit = 1
    studio.save()
    services.book(active_member, factories.ClassSessionFactory(studio=studio, credit_price=2).pk)
    session = factories.ClassSessionFactory(studio=studio)
    client.force_login(active_member.user)
    page = client.get(reverse("bookings:class", args=[session.pk])).content.decode()
    assert "Book Premium for 15 credits" in page
    # Standard spots are left, but not for this member: the price at the top is Premium's, the
    # one they can book at, and the standard one is said beside it.
    assert re.search(r'<h2>15 credits\s*<span class="spots premium">Premium</span>', page)
    assert "The standard price, 8 credits, is for members with visits left" in page
    assert "Why 8 credits?" not in page
    # Said once, as the Premium offer's reason, not again as the standard offer's refusal.
    assert page.count("You&#x27;ve reached your 1 visits at this studio this cycle.") == 1


def test_rows_show_a_member_at_a_studio_s_limit_the_premium_they_can_book(
    client, active_member, studio, premium
):
    """Once a member has used a studio's monthly visits, the studio's rows in the cycle show
    Premium's price (or 'Limit reached' where no Premium spot is left), as the class page and
    its offers do; classes after the renewal, and other studios', keep their standard price;
    the classes the member is in say 'Booked'."""
    from bookings import selectors as booking_selectors
    from members.models import Member

    now = timezone.now()
    studio.monthly_visit_limit = 1
    studio.save()
    Member.objects.filter(pk=active_member.pk).update(next_renewal_at=now + timedelta(hours=2))
    active_member.refresh_from_db()
    room = {"capacity": 20, "network_spots": 10}
    booked = factories.ClassSessionFactory(
        studio=studio, starts_at=now + timedelta(hours=1), **room
    )
    services.book(active_member, booked.pk)
    before_renewal = now + timedelta(minutes=90)
    other = factories.StudioFactory(market=studio.market)
    rows = {
        "booked": booked,  # the visit that reached the limit: it reads as booked
        "roomy": factories.ClassSessionFactory(studio=studio, starts_at=before_renewal, **room),
        "premium_full": factories.ClassSessionFactory(
            studio=studio, starts_at=before_renewal, premium_booked=2, **room
        ),
        "next_cycle": factories.ClassSessionFactory(
            studio=studio, starts_at=now + timedelta(hours=3), **room
        ),
        "other_studio": factories.ClassSessionFactory(
            studio=other, starts_at=before_renewal, **room
        ),
    }
    expected = {
        "booked": (8, "Booked"),
        "roomy": (15, "Premium"),
        "premium_full": (8, "Limit reached"),
        "next_cycle": (8, "10 left"),
        "other_studio": (8, "10 left"),
    }
    visits = booking_selectors.member_visits(active_member)
    found = booking_selectors.with_row_prices(
        [booking_selectors.session_for_page(s.pk) for s in rows.values()], active_member, visits
    )
    assert {
        name: (s.row.credits, s.row.spots) for name, s in zip(rows, found, strict=True)
    } == expected
    # The class page reads the limit from the engine's own count, and agrees.
    client.force_login(active_member.user)
    for name, session in zip(rows, found, strict=True):
        page = client.get(reverse("bookings:class", args=[session.pk])).content.decode()
        (heading,) = [h for h in re.findall("<h2>(.*?)</h2>", page, re.S) if "spots" in h]
        credits, spots = expected[name]
        assert " ".join(re.sub(r"<[^>]+>", " ", heading).split()) == f"{credits} credits {spots}"
    page = client.get(reverse("bookings:studio", args=[studio.slug])).content.decode()
    row = page[page.index(f"/classes/{rows['roomy'].pk}/") :]
    row = row[: row.index("</li>")]
    assert "<strong>15</strong> credits" in row and 'class="spots premium">Premium<' in row
    row = page[page.index(f"/classes/{rows['premium_full'].pk}/") :]
    assert 'class="spots plan">Limit reached<' in row[: row.index("</li>")]
    row = page[page.index(f"/classes/{booked.pk}/") :]
    assert 'class="spots booked">Booked<' in row[: row.index("</li>")]


def test_a_class_page_says_why_a_member_cannot_book_only_when_nothing_is_bookable(
    client, active_member, studio, premium
):
    zero = factories.ClassSessionFactory(studio=studio, network_spots=0, capacity=10)
    client.force_login(active_member.user)
    page = client.get(reverse("bookings:class", args=[zero.pk])).content.decode()
    assert "Book Premium for 15 credits" in page
    assert "This class offers no standard spots on the network." in page
    assert "This class offers no spots on the network." not in page
    # The price at the top is the one the member can book at, not the standard one.
    assert re.search(r'<h2>15 credits\s*<span class="spots premium">Premium</span>', page)
    assert "Only Premium spots are left" in page and "Why 8 credits?" not in page
    # A visitor who is not logged in is offered nothing yet, and reads the same price as the
    # search's row, not the standard price nobody can book at.
    client.logout()
    page = client.get(reverse("bookings:class", args=[zero.pk])).content.decode()
    assert re.search(r'<h2>15 credits\s*<span class="spots premium">Premium</span>', page)
    assert "Only Premium spots are left" in page and "Why 8 credits?" not in page
    client.force_login(active_member.user)
    # With the room full, nothing is bookable: the page says why.
    zero.studio_booked = 10
    zero.save()
    page = client.get(reverse("bookings:class", args=[zero.pk])).content.decode()
    assert "Book Premium" not in page
    assert "This class offers no spots on the network." in page


def test_a_la_carte_checkout_on_the_website(client, member, studio, premium):
    session = factories.ClassSessionFactory(studio=studio)
    client.force_login(member.user)
    page = client.get(reverse("bookings:class", args=[session.pk])).content.decode()
    assert "Buy this class for $30.00" in page
    # Without a plan, the price at the top is the one they can buy at, and the credits price
    # is what a plan would make it.
    # The spots left are the Premium spots à la carte sells (2 a class here), not the network's 10.
    assert re.search(r'<h2>\$30.00\s*<span class="spots">2 left</span>', page)
    assert "The price without a plan; with a plan, this class costs 8 credits." in page
    assert "Why 8 credits?" not in page
    # The cancellation terms are à la carte's (a refund in money), not a plan's credits and fee.
    window = studio.cancellation_window_hours
    assert f"refunded in full if you cancel up to {window} hours before" in page
    assert "late-cancel fee" not in page
    response = client.post(
        reverse("bookings:book", args=[session.pk]),
        {"offer": "a_la_carte", "expected_credits": 0, "expected_money_cents": 3000},
    )
    held = Reservation.objects.get()
    assert response.url == reverse("bookings:checkout", args=[held.public_id])
    assert "Pay $30.00" in client.get(response.url).content.decode()
    client.post(response.url)
    client.post(response.url)  # a double submit charges once
    held.refresh_from_db()
    assert (
        held.status == "booked" and Payment.objects.filter(kind=PaymentKind.A_LA_CARTE).count() == 1
    )


def test_partner_premium_settings_and_report(client, studio, active_member, premium):
    owner = factories.StaffFactory(studio=studio, role=StaffRole.MANAGER).user
    client.force_login(owner)
    url = reverse("partner:premium", args=[studio.slug])
    response = client.post(
        url,
        {
            "form": "settings",
            "enabled": "on",
            "price_cents": "32.50",
            "max_spots": 4,
            "smartspot_cap": 2,
        },
    )
    assert response.status_code == 302
    premium.refresh_from_db()
    assert (premium.price_cents, premium.max_spots, premium.a_la_carte_enabled) == (3250, 4, False)
    assert AuditEntry.objects.filter(action="premium settings").exists()
    bad = client.post(
        url, {"form": "settings", "price_cents": "-1", "max_spots": 4, "smartspot_cap": 2}
    )
    assert bad.status_code == 200 and "greater than or equal to 0.01" in bad.content.decode()
    session = factories.ClassSessionFactory(
        studio=studio, network_spots=0, starts_at=timezone.now() + timedelta(minutes=20)
    )
    reservation = services.book(active_member, session.pk, offer_kind="premium")
    services.mark_attended(reservation.pk, now=session.starts_at)
    report = selectors.premium_revenue(studio)
    assert [(r.reason, r.visits, r.revenue_cents) for r in report] == [("zero_allocation", 1, 3250)]
    assert "No network spots offered" in client.get(url).content.decode()
    front = factories.StaffFactory(studio=studio, role=StaffRole.FRONT_DESK).user
    client.force_login(front)
    assert client.get(url).status_code == 403


def test_partner_sets_a_class_type_premium_price_and_clears_it(
    client, studio, active_member, premium
):
    owner = factories.StaffFactory(studio=studio, role=StaffRole.MANAGER).user
    client.force_login(owner)
    url = reverse("partner:premium", args=[studio.slug])
    yoga = factories.ClassTypeFactory(studio=studio, name="Hot yoga")
    session = factories.ClassSessionFactory(studio=studio, class_type=yoga, network_spots=0)

    response = client.post(url, {"form": "price", "class_type": yoga.pk, "price_cents": "40.00"})
    assert response.status_code == 302
    assert PremiumPrice.objects.get(studio=studio, class_type=yoga).price_cents == 4000
    assert offers(session, active_member)["premium"].credits == 20  # $40 at $2.00 a credit
    audit = AuditEntry.objects.get(action="premium price")
    assert (audit.before, audit.after) == ({"price_cents": None}, {"price_cents": 4000})

    client.post(url, {"form": "price", "class_type": yoga.pk, "price_cents": ""})
    assert not PremiumPrice.objects.filter(class_type=yoga).exists()
    assert offers(session, active_member)["premium"].credits == 15  # the studio's $30 again
    assert AuditEntry.objects.filter(action="premium price").count() == 2

    elsewhere = factories.ClassTypeFactory(studio=factories.StudioFactory(market=studio.market))
    refused = client.post(
        url, {"form": "price", "class_type": elsewhere.pk, "price_cents": "99.00"}
    )
    assert refused.status_code == 200 and "Select a valid choice" in refused.content.decode()
    assert not PremiumPrice.objects.exists()


def test_a_declined_card_at_checkout_says_so_and_frees_the_spot(client, market, studio, premium):
    member = factories.MemberFactory(home_market=market, declines=True)
    session = factories.ClassSessionFactory(studio=studio)
    held = services.book(member, session.pk, offer_kind="a_la_carte")
    client.force_login(member.user)
    response = client.post(reverse("bookings:checkout", args=[held.public_id]), follow=True)
    assert response.redirect_chain[-1][0] == reverse("bookings:class", args=[session.pk])
    assert "declined" in response.content.decode()
    held.refresh_from_db()
    session.refresh_from_db()
    assert held.status == ReservationStatus.EXPIRED and session.premium_booked == 0
    # Back on the checkout link: no "held until" page with a Pay button any more.
    again = client.get(reverse("bookings:checkout", args=[held.public_id]), follow=True)
    assert again.redirect_chain[-1][0] == reverse("bookings:class", args=[session.pk])
    assert (
        "This hold has ended" in again.content.decode()
        and "Pay $30.00" not in again.content.decode()
    )


def test_the_checkout_page_of_a_hold_that_ran_out_sends_back_to_the_class(
    client, member, studio, premium
):
    session = factories.ClassSessionFactory(studio=studio)
    held = services.book(member, session.pk, offer_kind="a_la_carte")
    client.force_login(member.user)
    url = reverse("bookings:checkout", args=[held.public_id])
    assert "Pay $30.00" in client.get(url).content.decode()
    # The ten minutes passed and the sweep has not run yet.
    Reservation.objects.filter(pk=held.pk).update(
        hold_expires_at=timezone.now() - timedelta(seconds=1)
    )
    response = client.get(url, follow=True)
    assert response.redirect_chain[-1][0] == reverse("bookings:class", args=[session.pk])
    assert "This hold has ended" in response.content.decode()
    assert not Payment.objects.exists()


def test_settings_checkboxes_sit_inside_their_labels(client, studio, premium):
    client.force_login(factories.StaffFactory(studio=studio, role=StaffRole.OWNER).user)
    page = client.get(reverse("partner:premium", args=[studio.slug])).content.decode()
    # Clicking the words ticks the box, and the box sits beside them, not under them.
    # (The hidden input beside the box carries the value the page showed: ChangesOnly.)
    assert re.search(
        r'<label><input type="checkbox" name="enabled"[^>]*>'
        r'<input type="hidden" name="initial-enabled"[^>]*> Sell Premium',
        page,
    )


def test_paying_while_the_provider_does_not_answer_keeps_the_hold_to_pay_again(
    client, member, studio, premium, settings
):
    session = factories.ClassSessionFactory(studio=studio)
    held = services.book(member, session.pk, offer_kind="a_la_carte")
    client.force_login(member.user)
    checkout = reverse("bookings:checkout", args=[held.public_id])
    settings.PAYMENT_PROVIDER = payments.UNREACHABLE
    response = client.post(checkout, follow=True)
    assert response.redirect_chain[-1][0] == checkout  # back on the page that pays
    page = response.content.decode()
    assert "did not answer. Your spot is still held: please try again in a moment." in page
    assert "You will not be charged twice." in page and "Pay $30.00" in page
    held.refresh_from_db()
    session.refresh_from_db()
    assert held.status == ReservationStatus.HELD and session.premium_booked == 1
    pending = Payment.objects.get()  # the try is on record, to ask about again
    assert (pending.status, held.payment_id) == (PaymentStatus.PENDING, pending.pk)
    settings.PAYMENT_PROVIDER = "members.payments.LocalPaymentProvider"
    client.post(checkout)
    held.refresh_from_db()
    assert held.status == ReservationStatus.BOOKED and held.hold_expires_at is None
    assert Payment.objects.get().status == PaymentStatus.SUCCEEDED  # the same one, answered


def test_a_payment_answered_after_its_hold_ended_is_given_back_once(
    member, studio, premium, settings, django_capture_on_commit_callbacks
):
    """The provider took the money but its answer was lost; the member did not pay again, the
    hold ran out, and the sweep then learns the charge went through: it is refunded, once."""
    session = factories.ClassSessionFactory(studio=studio)
    held = services.book(member, session.pk, offer_kind="a_la_carte")
    settings.PAYMENT_PROVIDER = payments.LOST_ANSWERS
    with pytest.raises(PaymentUnavailable):
        services.pay_hold(held.pk, member=member)
    assert services.expire_holds(now=held.hold_expires_at) == 1
    with pytest.raises(HoldExpired, match="given back automatically"):
        services.pay_hold(held.pk, member=member)
    none = {"confirmed": 0, "refunded": 0}
    assert services.settle_late_payments() == none  # no answer yet: nothing to give back

    with django_capture_on_commit_callbacks(execute=True):
        assert members_services.settle_pending_payments()["succeeded"] == 1
        settings.PAYMENT_PROVIDER = "members.payments.LocalPaymentProvider"
        assert services.settle_late_payments() == {"confirmed": 0, "refunded": 1}
    assert services.settle_late_payments() == none

    charge = Payment.objects.get(kind=PaymentKind.A_LA_CARTE)
    refund = Payment.objects.get(kind=PaymentKind.REFUND)
    assert payments.LostAnswers.calls == {charge.reference: 2}  # asked twice, made once
    assert (charge.status, refund.status) == (PaymentStatus.SUCCEEDED, PaymentStatus.SUCCEEDED)
    assert (refund.refund_of_id, refund.amount_cents) == (charge.pk, -3000)
    session.refresh_from_db()
    held.refresh_from_db()
    assert held.status == ReservationStatus.EXPIRED and session.premium_booked == 0
    (message,) = [m for m in mail.outbox if "is given back" in m.subject]
    assert message.to == [member.user.email]
    assert "only after your spot was no longer held" in message.body
    assert "Your payment of $30.00 is refunded in full." in message.body


def test_a_payment_answered_while_the_spot_is_still_held_confirms_it(
    member, studio, premium, settings, django_capture_on_commit_callbacks
):
    session = factories.ClassSessionFactory(studio=studio)
    held = services.book(member, session.pk, offer_kind="a_la_carte")
    settings.PAYMENT_PROVIDER = payments.LOST_ANSWERS
    with pytest.raises(PaymentUnavailable):
        services.pay_hold(held.pk, member=member)

    with django_capture_on_commit_callbacks(execute=True):
        assert members_services.settle_pending_payments()["succeeded"] == 1
        assert services.settle_late_payments() == {"confirmed": 1, "refunded": 0}

    held.refresh_from_db()
    session.refresh_from_db()
    assert (held.status, held.hold_expires_at) == (ReservationStatus.BOOKED, None)
    assert session.premium_booked == 1 and held.payment.status == PaymentStatus.SUCCEEDED
    assert not Payment.objects.filter(kind=PaymentKind.REFUND).exists()
    assert payments.LostAnswers.calls == {held.payment.reference: 2}
    assert mail.outbox[-1].subject.startswith("You're booked")
    assert services.pay_hold(held.pk, member=member).status == ReservationStatus.BOOKED
    assert services.settle_late_payments() == {"confirmed": 0, "refunded": 0}


def test_a_hold_let_go_whose_payment_is_then_refused_gives_nothing_back(
    member, studio, premium, settings
):
    session = factories.ClassSessionFactory(studio=studio)
    held = services.book(member, session.pk, offer_kind="a_la_carte")
    settings.PAYMENT_PROVIDER = payments.UNREACHABLE
    with pytest.raises(PaymentUnavailable):
        services.pay_hold(held.pk, member=member)
    services.cancel(held.pk, member=member)  # the member lets the spot go
    member.user.email = "sam+decline@example.com"  # the local provider declines it
    member.user.save(update_fields=["email"])
    settings.PAYMENT_PROVIDER = "members.payments.LocalPaymentProvider"

    assert members_services.settle_pending_payments()["failed"] == 1
    assert services.settle_late_payments() == {"confirmed": 0, "refunded": 0}
    assert not Payment.objects.filter(kind=PaymentKind.REFUND).exists()


def test_cancelling_while_the_provider_does_not_answer_stands_and_the_refund_follows(
    member, studio, premium, settings, django_capture_on_commit_callbacks
):
    first, second = (factories.ClassSessionFactory(studio=studio) for _ in range(2))
    paid = [
        services.pay_hold(services.book(member, s.pk, offer_kind="a_la_carte").pk, member=member)
        for s in (first, second)
    ]
    settings.PAYMENT_PROVIDER = payments.UNREACHABLE
    with django_capture_on_commit_callbacks(execute=True):
        services.cancel(paid[0].pk, member=member)  # the member, in the free window
        assert services.cancel_session(second.pk) == 1  # the studio
    for one in (*paid, first, second):
        one.refresh_from_db()
    assert [r.status for r in paid] == [ReservationStatus.CANCELLED] * 2
    assert (first.premium_booked, second.status) == (0, "cancelled")
    refunds = Payment.objects.filter(kind=PaymentKind.REFUND).order_by("pk")
    assert [(r.status, r.amount_cents) for r in refunds] == [(PaymentStatus.PENDING, -3000)] * 2
    bodies = [m.body for m in mail.outbox[-2:]]
    for body in bodies:
        assert "Your refund of $30.00 is on its way" in body
        assert "refunded in full" not in body
    # The payment service answers again: the next sweep makes both refunds and tells the member.
    settings.PAYMENT_PROVIDER = "members.payments.LocalPaymentProvider"
    with django_capture_on_commit_callbacks(execute=True):
        assert members_services.settle_pending_payments() == {
            "succeeded": 2,
            "failed": 0,
            "pending": 0,
        }
    assert {r.status for r in refunds.all()} == {PaymentStatus.SUCCEEDED}
    settled = [m for m in mail.outbox if m.subject == "Your classpass refund has gone through"]
    assert len(settled) == 2 and "Your refund of $30.00" in settled[0].body
    third = factories.ClassSessionFactory(studio=studio)
    again = services.pay_hold(
        services.book(member, third.pk, offer_kind="a_la_carte").pk, member=member
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.cancel(again.pk, member=member)
    assert "Your payment of $30.00 is refunded in full." in mail.outbox[-1].body


def test_a_premium_price_in_admin_is_for_one_of_the_studios_class_types(admin_client, studio):
    add = reverse("admin:premium_premiumprice_add")
    theirs = factories.ClassTypeFactory()  # another studio's
    form = {"studio": studio.pk, "class_type": theirs.pk, "price_cents": "25.00"}
    response = admin_client.post(add, form)
    assert response.status_code == 200
    assert "Pick one of this studio&#x27;s class types." in response.content.decode()
    ours = factories.ClassTypeFactory(studio=studio)
    assert admin_client.post(add, {**form, "class_type": ours.pk}).status_code == 302
    assert PremiumPrice.objects.get().class_type == ours
    # Saved through the service: the studio's audit log names the admin; removing the price
    # puts the class type back on the studio's price, audited too.
    entry = AuditEntry.objects.get(action="premium price")
    assert entry.after == {"price_cents": 2500} and entry.user.is_superuser
    price = PremiumPrice.objects.get()
    delete = reverse("admin:premium_premiumprice_delete", args=[price.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 302
    assert not PremiumPrice.objects.exists()
    assert AuditEntry.objects.filter(action="premium price").count() == 2


def test_premium_settings_in_admin_are_audited_and_never_deleted(admin_client, studio):
    settings = PremiumSettings.objects.create(
        studio=studio, enabled=False, price_cents=2500, a_la_carte_enabled=False
    )
    change = reverse("admin:premium_premiumsettings_change", args=[settings.pk])
    page = admin_client.get(change).content.decode()
    assert 'name="studio"' not in page  # the studio is fixed once made
    form = {
        "enabled": "",
        "price_cents": "30.00",
        "max_spots": 3,
        "a_la_carte_enabled": "",
        "smartspot_enabled": "on",
        "smartspot_cap": 2,
    }
    assert admin_client.post(change, form).status_code == 302
    settings.refresh_from_db()
    assert (settings.price_cents, settings.enabled) == (3000, False)
    entry = AuditEntry.objects.get(studio=studio, action="premium settings")
    assert entry.after == {"price_cents": 3000} and entry.user.is_superuser
    # Deleting the row would put the studio back on the defaults: Premium on again.
    delete = reverse("admin:premium_premiumsettings_delete", args=[settings.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    assert selectors.settings_for(studio).enabled is False
