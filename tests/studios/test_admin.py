"""Money in Django admin (studios.admin.MoneyAdmin): typed in major units, shown in currency."""

import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse

from members.models import Payment, PaymentKind, PaymentStatus, Plan
from premium.models import PremiumSettings

pytestmark = pytest.mark.django_db


def plan_form(market, **fields):
    return {
        "name": "Core",
        "market": market.pk,
        "credits_per_cycle": 50,
        "price_cents": "47.49",
        "is_active": "on",
        **fields,
    }


def test_a_plan_price_is_typed_in_major_units_and_shown_in_its_currency(admin_client, market):
    add = reverse("admin:members_plan_add")
    assert admin_client.post(add, plan_form(market)).status_code == 302
    plan = Plan.objects.get()
    assert plan.price_cents == 4749
    # A whole number is a whole amount of money, not of cents.
    response = admin_client.post(add, plan_form(market, name="Max", price_cents="47"))
    assert response.status_code == 302
    assert Plan.objects.get(name="Max").price_cents == 4700

    listed = admin_client.get(reverse("admin:members_plan_changelist")).content.decode()
    assert "$47.49" in listed and "$47.00" in listed and "4749" not in listed
    change = reverse("admin:members_plan_change", args=[plan.pk])
    page = admin_client.get(change).content.decode()
    assert 'value="47.49"' in page and "Price (USD)" in page

    # Saving another field leaves the price as it was, and the history says what changed.
    assert admin_client.post(change, plan_form(market, name="Core Plus")).status_code == 302
    plan.refresh_from_db()
    assert (plan.name, plan.price_cents) == ("Core Plus", 4749)
    message = LogEntry.objects.filter(object_id=str(plan.pk)).latest("pk").get_change_message()
    assert "Name" in message and "Price" not in message


@pytest.mark.parametrize(
    "price, error",
    [
        ("4749 cents", "Enter a number."),
        ("-1", "greater than or equal to 0"),
        ("47.499", "no more than 2 decimal places"),
        ("1000000", "less than or equal to 999999.99"),
    ],
)
def test_a_malformed_price_is_a_form_error(admin_client, market, price, error):
    response = admin_client.post(
        reverse("admin:members_plan_add"), plan_form(market, price_cents=price)
    )
    assert response.status_code == 200 and error in response.content.decode()
    assert not Plan.objects.exists()


def test_ledger_and_settings_pages_show_money_in_the_rows_currency(admin_client, studio, member):
    studio.market.currency = "GBP"
    studio.market.save(update_fields=["currency"])
    PremiumSettings.objects.create(studio=studio, price_cents=3250, max_spots=2)
    payment = Payment.objects.create(
        member=member,
        kind=PaymentKind.A_LA_CARTE,
        amount_cents=2900,
        currency="EUR",
        status=PaymentStatus.SUCCEEDED,
        provider="local",
        reference="test:1",
    )
    # A ledger's entry is read only: its page shows the amount, not a field holding cents.
    page = admin_client.get(reverse("admin:members_payment_change", args=[payment.pk]))
    page = page.content.decode()
    assert "À la carte €29.00 (succeeded)" in page  # its title
    assert "€29.00 refunded" not in page and "€0.00 refunded or pending" in page
    assert "2900" not in page
    listed = admin_client.get(reverse("admin:members_payment_changelist")).content.decode()
    assert "€29.00" in listed
    listed = admin_client.get(reverse("admin:premium_premiumsettings_changelist")).content.decode()
    assert "£32.50" in listed
    listed = admin_client.get(reverse("admin:studios_studio_changelist")).content.decode()
    assert f"£{studio.payout_rate_cents / 100:.2f}" in listed


def test_a_reservations_page_shows_its_price_and_payout_as_money(admin_client, member, session):
    from bookings.models import Reservation

    reservation = Reservation.objects.create(
        member=member,
        session=session,
        studio=session.studio,
        starts_at=session.starts_at,
        credits_spent=0,
        money_paid_cents=2850,
        currency="USD",
        studio_payout_cents=1975,
    )
    page = admin_client.get(reverse("admin:bookings_reservation_change", args=[reservation.pk]))
    page = page.content.decode()
    assert "$28.50" in page and "$19.75" in page
    assert "2850" not in page and "1975" not in page
