"""A member deletes their account: who they were is erased, what the books need is kept."""

from datetime import timedelta

import pytest
from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

from bookings import services as bookings
from bookings.models import Reservation, ReservationStatus, WaitlistEntry, WaitlistStatus
from members import services
from members.errors import AccountNotDeletable
from members.models import CreditEntry, CreditKind, Member, Payment
from studios.models import StaffRole
from tests import factories

pytestmark = pytest.mark.django_db

PASSWORD = "a long enough passphrase"


@pytest.fixture
def leaving(active_member, studio, session):
    """A member with history: a class they went to, a place on a waitlist, an API token."""
    user = active_member.user
    user.first_name, user.last_name = "Pat", "Leaving"
    user.set_password(PASSWORD)
    user.save()
    past = factories.ClassSessionFactory(
        studio=studio, starts_at=timezone.now() + timedelta(hours=3)
    )
    bookings.book(active_member, past.pk)
    past.starts_at = timezone.now() - timedelta(days=2)  # it has happened since
    past.save(update_fields=["starts_at"])
    full = factories.ClassSessionFactory(studio=studio, network_spots=2, network_booked=2)
    bookings.join_waitlist(active_member, full.pk)
    services.create_api_token(user)
    services.save_studio(active_member, studio, saved=True)
    active_member.refresh_from_db()
    return active_member


def test_deleting_erases_the_person_and_keeps_the_books(leaving):
    user = leaving.user
    email, calendar = user.email, leaving.calendar_token
    balance = leaving.credit_balance
    payments = Payment.objects.filter(member=leaving).count()
    services.delete_account(leaving)
    user.refresh_from_db()
    leaving.refresh_from_db()
    assert user.email == user.username == f"deleted-{user.pk}@deleted.invalid"
    assert (user.first_name, user.last_name, user.is_active) == ("", "", False)
    assert not user.has_usable_password() and not user.check_password(PASSWORD)
    assert not AuthToken.objects.filter(user=user).exists()
    assert leaving.calendar_token != calendar and leaving.deleted_at is not None
    assert not leaving.saved_studios.exists()
    # The plan ends and the balance is forfeited, as a ledger entry; the ledger still adds up.
    assert leaving.status == "cancelled" and leaving.next_renewal_at is None
    assert leaving.credit_balance == 0
    forfeit = CreditEntry.objects.get(member=leaving, kind=CreditKind.FORFEIT)
    assert forfeit.amount == -balance
    total = CreditEntry.objects.filter(member=leaving).aggregate(s=Sum("amount"))["s"]
    assert total == 0
    # What studios are paid by and the books need stays, without the name.
    assert Payment.objects.filter(member=leaving).count() == payments
    assert Reservation.objects.filter(member=leaving, status=ReservationStatus.BOOKED).exists()
    # No spot is ever promoted to the account: its waitlist place is given up.
    assert WaitlistEntry.objects.get(member=leaving).status == WaitlistStatus.LEFT
    # The address is free again: its owner may sign up anew.
    again = services.sign_up(email=email, password=PASSWORD, market=leaving.home_market)
    assert again.pk != leaving.pk and Member.objects.filter(pk=leaving.pk).exists()
    with pytest.raises(AccountNotDeletable):
        services.delete_account(leaving)


def test_classes_ahead_or_a_place_on_a_team_keep_the_account(leaving, session):
    reservation = bookings.book(leaving, session.pk)
    with pytest.raises(AccountNotDeletable, match="You have 1 class ahead: cancel it"):
        services.delete_account(leaving)
    bookings.cancel(reservation.pk, member=leaving)
    factories.StaffFactory(user=leaving.user, studio=session.studio, role=StaffRole.FRONT_DESK)
    with pytest.raises(AccountNotDeletable, match=f"on the team of {session.studio.name}"):
        services.delete_account(leaving)
    leaving.refresh_from_db()
    assert leaving.deleted_at is None and leaving.user.is_active and leaving.credit_balance > 0
    assert WaitlistEntry.objects.get(member=leaving).status == WaitlistStatus.WAITING


def test_the_page_asks_for_the_password_then_logs_out_everywhere(client, leaving):
    old_email = leaving.user.email
    client.force_login(leaving.user)
    other_device = client.cookies.copy()
    page = client.get(reverse("members:delete_account")).content.decode()
    assert "Delete your account?" in page and "forfeited" in page
    wrong = client.post(reverse("members:delete_account"), {"password": "not it"})
    assert "That is not your password." in wrong.content.decode()
    assert Member.objects.get(pk=leaving.pk).deleted_at is None
    done = client.post(reverse("members:delete_account"), {"password": PASSWORD}, follow=True)
    assert done.redirect_chain[-1][0] == reverse("home")
    assert "Your account is deleted." in done.content.decode()
    assert Member.objects.get(pk=leaving.pk).deleted_at is not None
    # Another browser that was logged in is logged out too.
    client.cookies = other_device
    assert client.get(reverse("members:account")).status_code == 302
    for username in (old_email, Member.objects.get(pk=leaving.pk).user.email):
        refused = client.post(
            reverse("members:login"), {"username": username, "password": PASSWORD}
        )
        assert refused.status_code == 200  # the form again: nobody is logged in


def test_a_refusal_on_the_page_says_why(client, leaving, session):
    bookings.book(leaving, session.pk)
    client.force_login(leaving.user)
    refused = client.post(reverse("members:delete_account"), {"password": PASSWORD})
    assert "You have 1 class ahead: cancel it on My schedule first." in refused.content.decode()
    assert Member.objects.get(pk=leaving.pk).deleted_at is None


def test_the_api_deletes_with_the_password_and_the_token_stops_working(leaving, session):
    _, token = services.create_api_token(leaving.user)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    url = "/api/v1/me/delete/"
    wrong = api.post(url, {"password": "not it"}, format="json")
    assert wrong.status_code == 400 and "password" in wrong.json()["error"]["fields"]
    unknown = api.post(url, {"password": PASSWORD, "force": True}, format="json")
    assert unknown.status_code == 400
    reservation = bookings.book(leaving, session.pk)
    ahead = api.post(url, {"password": PASSWORD}, format="json")
    assert ahead.status_code == 422 and ahead.json()["error"]["code"] == "account_not_deletable"
    bookings.cancel(reservation.pk, member=leaving)
    assert Member.objects.get(pk=leaving.pk).deleted_at is None
    assert api.post(url, {"password": PASSWORD}, format="json").status_code == 204
    assert Member.objects.get(pk=leaving.pk).deleted_at is not None
    assert api.get("/api/v1/me/").status_code == 401


def test_a_studio_sees_a_deleted_member_as_such_on_its_rosters(client, leaving, studio):
    past = Reservation.objects.get(member=leaving).session
    staff = factories.StaffFactory(studio=studio, role=StaffRole.FRONT_DESK)
    client.force_login(staff.user)
    roster = reverse("partner:roster", args=[studio.slug, past.pk])
    assert "Pat Leaving" in client.get(roster).content.decode()
    services.delete_account(leaving)
    page = client.get(roster).content.decode()
    assert "Deleted member" in page and "Pat Leaving" not in page and "deleted.invalid" not in page


def test_an_admin_deletes_accounts_on_request_after_a_confirmation(admin_client, leaving, market):
    """Support closes an account for a member who asks by e-mail; the same rules hold."""
    busy = factories.MemberFactory(home_market=market)
    services.choose_plan(busy, factories.PlanFactory(market=market))
    session = factories.ClassSessionFactory(studio=factories.StudioFactory(market=market))
    bookings.book(busy, session.pk)
    changelist = reverse("admin:members_member_changelist")
    chosen = {"action": "delete_accounts", "_selected_action": [leaving.pk, busy.pk]}
    confirm = admin_client.post(changelist, chosen).content.decode()
    assert "Delete these accounts?" in confirm and "Yes, delete 2 accounts" in confirm
    assert leaving.user.email in confirm and busy.user.email in confirm
    assert not Member.objects.filter(deleted_at__isnull=False).exists()  # nothing yet
    done = admin_client.post(changelist, {**chosen, "confirmed": "yes"}, follow=True)
    page = done.content.decode()
    assert "Deleted 1 account(s)." in page
    assert f"{busy.user.email}: you have 1 class ahead" in page.lower()  # admin capitalises
    leaving.refresh_from_db()
    busy.refresh_from_db()
    assert leaving.deleted_at is not None and leaving.user.email.endswith("@deleted.invalid")
    assert busy.deleted_at is None and busy.user.is_active
    # A profile carries the books: admin never removes one outright.
    delete = reverse("admin:members_member_delete", args=[busy.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    assert Member.objects.filter(pk=busy.pk).exists()
