import re
from datetime import UTC, datetime

import pytest
from django.conf import settings
from django.core import mail
from django.urls import reverse
from django.utils import timezone
from knox.models import AuthToken

from members import services
from members.models import CreditEntry, Member, Payment, SubscriptionStatus
from studios.models import OutboxMessage
from tests import factories


@pytest.mark.django_db
def test_sign_up_logs_in_and_leads_to_plan_choice(client, market):
    response = client.post(
        reverse("members:signup"),
        {
            "first_name": " Ada ",
            "last_name": "Okafor",
            "email": "New@Example.com",
            "password": "a-very-good-passphrase",
            "market": market.pk,
        },
    )
    assert response.status_code == 302 and response.url == reverse("members:plan")
    member = Member.objects.get(user__email="new@example.com")
    assert member.home_market == market
    assert member.display_name == "Ada Okafor"  # how studios see them
    assert client.get(reverse("members:account")).status_code == 200


@pytest.mark.django_db
def test_sign_ups_are_limited_per_client_address(
    client, market, settings, django_capture_on_commit_callbacks
):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "sign_up_ip": "3/hour",
        },
    }
    url = reverse("members:signup")
    factories.UserFactory(email="taken@example.com")

    def sign_up(email, **extra):
        body = {"email": email, "password": "a-very-good-passphrase", "market": market.pk}
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(url, body, **extra)
        client.logout()
        return response

    assert sign_up("one@example.com").status_code == 302
    assert sign_up("two@example.com").status_code == 302
    # A refusal for an address in use counts too: asking is how addresses are probed.
    assert "already exists" in sign_up("taken@example.com").content.decode()
    refused = sign_up("three@example.com")
    assert refused.status_code == 200
    page = refused.content.decode()
    assert "Several accounts were signed up from here just now. Try again in" in page
    assert not Member.objects.filter(user__email="three@example.com").exists()
    assert "already exists" not in sign_up("taken@example.com").content.decode()
    assert [m.to for m in mail.outbox] == [["one@example.com"], ["two@example.com"]]
    # An invalid form is not counted, and another client is not held back.
    assert sign_up("not-an-address").status_code == 200
    elsewhere = sign_up("three@example.com", REMOTE_ADDR="10.0.0.2")
    assert elsewhere.status_code == 302
    assert Member.objects.filter(user__email="three@example.com").exists()


@pytest.mark.django_db
def test_a_new_member_confirms_their_address_from_the_link_e_mailed_to_it(
    client, market, settings, django_capture_on_commit_callbacks
):
    sign_up = {"email": "ada@example.com", "password": "a-very-good-passphrase"}
    with django_capture_on_commit_callbacks(execute=True):  # the outbox's relay runs
        welcome = client.post(
            reverse("members:signup"), {**sign_up, "market": market.pk}, follow=True
        )
    assert "We sent a link to ada@example.com: follow it to confirm" in welcome.content.decode()
    [sent] = mail.outbox
    assert sent.to == ["ada@example.com"] and "confirm that ada@example.com" in sent.body
    account = reverse("members:account")
    assert "Please confirm your e-mail address" in client.get(account).content.decode()
    # Sent again on request, as many times as the limit allows.
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "email_change": "1/hour",
        },
    }
    again = reverse("members:confirm_again")
    with django_capture_on_commit_callbacks(execute=True):
        resent = client.post(again, follow=True).content.decode()
        limited = client.post(again, follow=True).content.decode()
    assert "We sent the link again to ada@example.com." in resent
    assert "We sent several links just now." in limited
    assert [m.to for m in mail.outbox] == [["ada@example.com"]] * 2
    assert "confirm that ada@example.com" in mail.outbox[1].body
    link = re.search(r"http://\S+/me/details/email/\S+/", sent.body).group(0)
    path = link.removeprefix(settings.SITE_URL.rstrip("/"))
    asked = client.get(path).content.decode()  # a GET (a mail scanner's, say) confirms nothing
    assert "Confirm <strong>ada@example.com</strong> as the address" in asked
    member = Member.objects.get(user__email="ada@example.com")
    assert member.email_confirmed_at is None
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(path, follow=True).content.decode()
    assert "Thank you: ada@example.com is confirmed." in done
    assert "Please confirm your e-mail address" not in done  # back on the account page
    member.refresh_from_db()
    assert member.email_confirmed_at is not None
    assert "is already this account's address" in client.get(path).content.decode()
    assert len(mail.outbox) == 2  # nobody else was told anything
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "email_change": "9/hour",
        },
    }
    with django_capture_on_commit_callbacks(execute=True):
        already = client.post(again, follow=True).content.decode()
    assert "ada@example.com is confirmed already." in already and len(mail.outbox) == 2


@pytest.mark.django_db
def test_a_link_to_a_new_address_confirms_it_too(
    client, member, django_capture_on_commit_callbacks
):
    assert member.email_confirmed_at is None
    user = member.user
    user.set_password("correct-horse-battery")
    user.save()
    with django_capture_on_commit_callbacks(execute=True):
        services.change_details(user, first_name="", last_name="", email="fixed@example.com")
    link = re.search(r"/me/details/email/\S+/", mail.outbox[-1].body).group(0)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(link)
    member.refresh_from_db()
    assert member.user.email == "fixed@example.com" and member.email_confirmed_at is not None


@pytest.mark.django_db
def test_sign_up_with_a_used_email_shows_a_form_error(client, market):
    factories.UserFactory(email="taken@example.com")
    response = client.post(
        reverse("members:signup"),
        {"email": "TAKEN@example.com", "password": "a-very-good-passphrase", "market": market.pk},
    )
    assert response.status_code == 200
    assert "already exists" in response.content.decode()
    assert Member.objects.count() == 0


@pytest.mark.django_db
def test_sign_up_refuses_a_weak_password(client, market):
    response = client.post(
        reverse("members:signup"),
        {"email": "a@example.com", "password": "123", "market": market.pk},
    )
    assert response.status_code == 200
    assert "too short" in response.content.decode()
    assert Member.objects.count() == 0


@pytest.mark.django_db
def test_log_in_with_email_and_log_out(client, member):
    response = client.post(
        reverse("members:login"),
        {"username": member.user.email.upper(), "password": "correct-horse-battery"},
    )
    assert response.status_code == 302
    assert client.get(reverse("members:account")).status_code == 200
    client.post(reverse("members:logout"))
    assert client.get(reverse("members:account")).status_code == 302


@pytest.mark.django_db
def test_password_reset_sends_a_working_link(client, member):
    assert member.email_confirmed_at is None
    client.post(reverse("members:password_reset"), {"email": member.user.email})
    assert len(mail.outbox) == 1
    link = re.search(r"https?://[^/]+(/password-reset/[^\s]+/)", mail.outbox[0].body).group(1)
    form_page = client.get(link, follow=True)
    assert form_page.status_code == 200
    response = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "brand-new-passphrase", "new_password2": "brand-new-passphrase"},
    )
    assert response.status_code == 302
    logged_in = client.post(
        reverse("members:login"),
        {"username": member.user.email, "password": "brand-new-passphrase"},
    )
    assert (
        logged_in.status_code == 302 and client.get(reverse("members:account")).status_code == 200
    )
    # The link came to the member's mailbox: their address is confirmed too.
    member.refresh_from_db()
    assert member.email_confirmed_at is not None


@pytest.mark.django_db
def test_choose_plan_on_the_website(client, member, plan):
    client.force_login(member.user)
    response = client.post(reverse("members:plan"), {"plan": plan.pk})
    assert response.status_code == 302
    member.refresh_from_db()
    assert (
        member.status == SubscriptionStatus.ACTIVE
        and member.credit_balance == plan.credits_per_cycle
    )
    page = client.get(reverse("members:account")).content.decode()
    assert plan.name in page and "Cycle grant" in page


@pytest.mark.django_db
def test_a_plan_of_another_market_cannot_be_posted(client, member):
    other = factories.PlanFactory()
    client.force_login(member.user)
    response = client.post(reverse("members:plan"), {"plan": other.pk})
    assert response.status_code == 200
    assert "not offered in your city" in response.content.decode()
    assert not Payment.objects.exists()


@pytest.mark.django_db
def test_pause_resume_and_cancel_from_the_account_page(client, member, plan):
    client.force_login(member.user)
    # Without a plan yet, the credits card says where credits come from, not how they roll over.
    account = client.get(reverse("members:account")).content.decode()
    assert "Credits come with a plan." in account and "roll over" not in account
    client.post(reverse("members:plan"), {"plan": plan.pk})
    assert "roll over" in client.get(reverse("members:account")).content.decode()
    client.post(reverse("members:pause"))
    assert Member.objects.get(pk=member.pk).status == SubscriptionStatus.PAUSED
    client.post(reverse("members:resume"))
    assert Member.objects.get(pk=member.pk).status == SubscriptionStatus.ACTIVE
    # Cancelling asks first, saying what is lost; the question itself changes nothing.
    balance = Member.objects.get(pk=member.pk).credit_balance
    question = client.get(reverse("members:cancel")).content.decode()
    assert f"<strong>{balance} credits</strong> left are forfeited now" in question
    assert Member.objects.get(pk=member.pk).status == SubscriptionStatus.ACTIVE
    account = client.get(reverse("members:account")).content.decode()
    assert f'href="{reverse("members:cancel")}">Cancel plan</a>' in account
    client.post(reverse("members:cancel"))
    member.refresh_from_db()
    assert member.status == SubscriptionStatus.CANCELLED and member.credit_balance == 0
    assert "Credits come with a plan." in client.get(reverse("members:account")).content.decode()
    # A GET never changes a plan; once cancelled, there is nothing left to ask about.
    assert client.get(reverse("members:pause")).status_code == 405
    assert client.get(reverse("members:cancel")).url == reverse("members:account")


@pytest.mark.django_db
def test_the_account_page_says_when_a_declined_renewal_paused_the_plan(client, member, plan, now):
    from datetime import timedelta

    services.choose_plan(member, plan, now=now)
    services.pause(member)  # on purpose: no reason to show
    client.force_login(member.user)
    assert "was declined" not in client.get(reverse("members:account")).content.decode()
    services.resume(member, now=now + timedelta(days=3))
    member.user.email = "pat+decline@example.com"
    member.user.save()
    services.renew_due_cycles(now=now + timedelta(days=40))
    page = client.get(reverse("members:account")).content.decode()
    declined = Payment.objects.get(status="failed")
    day = timezone.localtime(declined.created_at, member.home_market.tzinfo)
    assert f"Your plan is paused because its renewal payment of $49.00 on {day:%-d %b %Y} was" in (
        page
    )
    assert "was declined: The card was declined. Resume to start a new month" in page


@pytest.mark.django_db
def test_account_page_query_count_does_not_grow_with_history(
    client, member, plan, django_assert_max_num_queries
):
    client.force_login(member.user)
    services.choose_plan(member, plan)
    for _ in range(30):
        services.adjust_credits(member, amount=1, note="x")
    assert CreditEntry.objects.count() == 31
    with django_assert_max_num_queries(8):
        assert client.get(reverse("members:account")).status_code == 200


@pytest.mark.django_db
def test_changing_plan_on_the_website_takes_effect_at_the_renewal(client, member, plan):
    bigger = factories.PlanFactory(market=plan.market, credits_per_cycle=60, name="Sixty")
    client.force_login(member.user)
    client.post(reverse("members:plan"), {"plan": plan.pk})
    response = client.post(reverse("members:plan"), {"plan": bigger.pk}, follow=True)
    assert "From your next renewal" in response.content.decode()
    member.refresh_from_db()
    assert (member.plan, member.next_plan, member.credit_balance) == (
        plan,
        bigger,
        plan.credits_per_cycle,  # this cycle was paid for: no new credits, no second charge
    )
    assert Payment.objects.filter(member=member).count() == 1
    # The plans page says which plan is theirs and which takes over, and what a credit costs.
    page = client.get(reverse("members:plan")).content.decode()
    cards = {
        name: card
        for card in page.split('<label class="card plan">')[1:]
        for name in [re.search(r"<strong>(.*?)</strong>", card).group(1)]
    }
    renewal = timezone.localtime(member.next_renewal_at, plan.market.tzinfo)
    assert "Your plan" in cards[plan.name] and "checked" not in cards[plan.name]
    assert f"From {renewal.day} {renewal:%B}" in cards["Sixty"] and "checked" in cards["Sixty"]
    per_credit = round(bigger.price_cents / 60)
    assert f"${per_credit // 100}.{per_credit % 100:02d} a credit" in cards["Sixty"]


@pytest.mark.django_db
def test_a_plan_action_that_does_not_apply_says_why_and_changes_nothing(client, member, plan):
    client.force_login(member.user)
    response = client.post(reverse("members:resume"), follow=True)
    assert "Only a paused plan can be resumed." in response.content.decode()
    response = client.post(reverse("members:cancel"), follow=True)
    assert "There is no plan to cancel." in response.content.decode()
    assert Member.objects.get(pk=member.pk).status == member.status
    assert not CreditEntry.objects.filter(member=member).exists()
    unknown = client.post(reverse("members:revoke_token", args=["nosuchkey"]), follow=True)
    assert "No such token." in unknown.content.decode()


@pytest.mark.django_db
def test_accounts_without_a_member_profile_land_where_they_work(client, admin_client):
    staff = factories.StaffFactory().user
    client.force_login(staff)
    for name in ("members:account", "bookings:schedule"):
        assert client.get(reverse(name)).url == reverse("partner_home")
        # The marketplace's admins go to Django admin, not to a 404.
        assert admin_client.get(reverse(name)).url == reverse("admin:index")
    plain = factories.UserFactory()  # neither: nothing to show
    client.force_login(plain)
    assert client.get(reverse("members:account")).status_code == 404
    assert client.get(reverse("bookings:schedule")).status_code == 404


def _nav_after_log_in(client, user) -> str:
    response = client.post(
        reverse("members:login"), {"username": user.email, "password": "correct-horse-battery"}
    )
    assert response.status_code == 302
    page = client.get(reverse("bookings:search")).content.decode()
    return page.split('<header class="topbar">')[1].split("</header>")[0]


@pytest.mark.django_db
def test_the_top_bar_links_where_each_account_works(client, member, studio):
    nav = _nav_after_log_in(client, member.user)
    assert "My schedule" in nav and "My account" in nav
    assert "Partner Dashboard" not in nav and "Admin" not in nav

    owner = factories.StaffFactory(studio=studio).user  # staff only: no member profile
    client.post(reverse("members:logout"))
    nav = _nav_after_log_in(client, owner)
    assert f'href="{reverse("partner_home")}">Partner Dashboard' in nav
    assert "My schedule" not in nav and "My account" not in nav

    admin = factories.UserFactory(is_staff=True, is_superuser=True)
    client.post(reverse("members:logout"))
    nav = _nav_after_log_in(client, admin)
    assert f'href="{reverse("admin:index")}">Admin' in nav and "My account" not in nav

    # A member who also works at a studio gets both.
    factories.StaffFactory(studio=studio, user=member.user)
    client.post(reverse("members:logout"))
    nav = _nav_after_log_in(client, member.user)
    assert "My schedule" in nav and "Partner Dashboard" in nav


@pytest.mark.django_db
def test_sign_up_shows_a_members_top_bar(client, market):
    client.post(
        reverse("members:signup"),
        {"email": "new@example.com", "password": "a-very-good-passphrase", "market": market.pk},
    )
    page = client.get(reverse("members:plan")).content.decode()
    assert "My schedule" in page and "Partner Dashboard" not in page


@pytest.mark.django_db
def test_account_roles_reads_each_role_in_one_query(member, studio, django_assert_num_queries):
    from members.selectors import account_roles

    factories.StaffFactory(studio=studio, user=member.user)
    with django_assert_num_queries(1):
        roles = account_roles(member.user)
    assert roles == {"member": True, "partner": True, "admin": False}
    assert account_roles(factories.UserFactory()) == {
        "member": False,
        "partner": False,
        "admin": False,
    }


@pytest.mark.django_db
def test_sign_up_asks_for_the_city_unless_the_visitor_came_from_one(client, market):
    other = factories.MarketFactory()
    page = client.get(reverse("members:signup")).content.decode()
    assert '<option value="" selected>Choose your city</option>' in page
    response = client.post(
        reverse("members:signup"), {"email": "a@example.com", "password": "a-good-passphrase-1"}
    )
    assert response.status_code == 200 and "This field is required." in response.content.decode()
    assert not Member.objects.exists()
    # From a city's class page: that city, still changeable.
    page = client.get(reverse("members:signup"), {"market": other.slug}).content.decode()
    assert f'<option value="{other.pk}" selected>' in page
    assert f'<option value="{market.pk}">' in page
    # An unknown slug chooses nothing.
    page = client.get(reverse("members:signup"), {"market": "nowhere"}).content.decode()
    assert '<option value="" selected>Choose your city</option>' in page


@pytest.mark.django_db
def test_sign_up_chooses_the_only_city(client, market):
    page = client.get(reverse("members:signup")).content.decode()
    assert f'<option value="{market.pk}" selected>' in page


@pytest.mark.django_db
def test_a_visitor_on_a_class_page_is_offered_an_account_in_its_city(client, session):
    page = client.get(reverse("bookings:class", args=[session.pk])).content.decode()
    assert f'href="{reverse("members:signup")}?market={session.studio.market.slug}"' in page


@pytest.mark.django_db
def test_help_text_is_what_the_input_says_it_is_described_by(client, market):
    page = client.get(reverse("members:signup")).content.decode()
    assert 'aria-describedby="id_password_helptext"' in page
    assert '<div class="help" id="id_password_helptext">' in page


@pytest.mark.django_db
def test_the_payments_page_lists_plans_fees_and_refunds_of_this_member_only(
    client, active_member, studio, market, plan
):
    """A member charged a late-cancel fee, or refunded a class, sees it on the website."""
    from datetime import timedelta

    from django.utils import timezone

    from bookings import services as booking_services

    soon = factories.ClassSessionFactory(
        studio=studio, starts_at=timezone.now() + timedelta(hours=3)
    )
    reservation = booking_services.book(active_member, soon.pk)
    booking_services.cancel(reservation.pk, member=active_member)  # inside the 12 h window
    other = factories.MemberFactory(home_market=market)
    services.choose_plan(other, factories.PlanFactory(market=market, name="Other Plan"))

    client.force_login(active_member.user)
    page = client.get(reverse("members:payments")).content.decode()

    assert f"{plan.name} plan, first cycle" in page
    fee = Payment.objects.get(member=active_member, kind="late_cancel_fee")
    assert "Late-cancel fee" in page and f"{soon.class_type.name} at {studio.name}" in page
    assert f"${fee.amount_cents / 100:.2f}" in page and "Paid" in page
    assert "Other Plan" not in page
    assert 'href="/me/payments/"' in client.get(reverse("members:account")).content.decode()


@pytest.mark.django_db
def test_a_declined_payment_shows_as_declined_with_its_reason(client, active_member):
    Payment.objects.create(
        member=active_member,
        kind="plan",
        amount_cents=8599,
        currency="USD",
        status="failed",
        provider="local",
        reference="declined-renewal",
        description="Core plan, renewal",
        failure_reason="The card was declined.",
    )
    client.force_login(active_member.user)
    page = client.get(reverse("members:payments")).content.decode()
    assert "Declined" in page and "The card was declined." in page


@pytest.mark.django_db
def test_a_logged_in_member_changes_the_password_and_stays_logged_in(client, member):
    from django.test import Client

    elsewhere = Client()
    elsewhere.force_login(member.user)
    client.force_login(member.user)
    assert 'href="/me/password/"' in client.get(reverse("members:account")).content.decode()
    url = reverse("members:password_change")
    wrong = client.post(
        url,
        {
            "old_password": "not-it",
            "new_password1": "a-new-long-passphrase",
            "new_password2": "a-new-long-passphrase",
        },
    )
    assert wrong.status_code == 200 and "incorrectly" in wrong.content.decode()
    weak = client.post(
        url,
        {"old_password": "correct-horse-battery", "new_password1": "123", "new_password2": "123"},
    )
    assert weak.status_code == 200 and "too short" in weak.content.decode()
    done = client.post(
        url,
        {
            "old_password": "correct-horse-battery",
            "new_password1": "a-new-long-passphrase",
            "new_password2": "a-new-long-passphrase",
        },
    )
    assert done.status_code == 302 and done.url == reverse("members:password_change_done")
    member.user.refresh_from_db()
    assert member.user.check_password("a-new-long-passphrase")
    assert client.get(reverse("members:account")).status_code == 200  # still logged in
    assert elsewhere.get(reverse("members:account")).status_code == 302  # logged out


@pytest.mark.django_db
def test_studio_staff_find_the_password_change_on_the_dashboard(client, studio):
    staff = factories.StaffFactory(studio=studio).user
    client.force_login(staff)
    page = client.get(reverse("partner:overview", args=[studio.slug])).content.decode()
    assert 'href="/me/password/"' in page
    assert client.get(reverse("members:password_change")).status_code == 200


@pytest.mark.django_db
def test_sign_up_refuses_an_address_longer_than_a_log_in_name(client, market):
    long = "a" * 140 + "@example.com"  # 152 characters: a valid address, too long to log in with
    response = client.post(
        reverse("members:signup"),
        {"email": long, "password": "a-very-good-passphrase", "market": market.pk},
    )
    assert response.status_code == 200 and "at most 150 characters" in response.content.decode()
    assert not Member.objects.exists()


@pytest.mark.django_db
def test_a_member_sets_a_name_studios_see_and_changes_the_address_with_the_password(
    client, member, studio, django_capture_on_commit_callbacks
):
    from bookings.services import book
    from members import services
    from studios import outbox

    old = member.user.email
    client.force_login(member.user)
    assert "Edit details" in client.get(reverse("members:account")).content.decode()
    url = reverse("members:details")
    page = client.get(url).content.decode()
    assert f'value="{old}"' in page and 'autocomplete="given-name"' in page
    # A name needs no password; studios see it on their class lists.
    done = client.post(url, {"first_name": " Maya ", "last_name": "Lin", "email": old}, follow=True)
    assert "Saved." in done.content.decode() and "Maya Lin" in done.content.decode()
    with outbox.silenced():
        services.choose_plan(member, factories.PlanFactory(market=member.home_market))
        session = factories.ClassSessionFactory(studio=studio)
        book(member, session.pk)
    owner = factories.StaffFactory(studio=studio, role="owner").user
    client.force_login(owner)
    roster = client.get(reverse("partner:roster", args=[studio.slug, session.pk]))
    assert "Maya Lin" in roster.content.decode() and old not in roster.content.decode()
    # A new address needs the password; without it nothing changes.
    client.force_login(member.user)
    change = {"first_name": "Maya", "last_name": "Lin", "email": "maya@new.example"}
    for password in ("", "not it"):
        refused = client.post(url, {**change, "password": password})
        assert "Enter your password to change the e-mail address." in refused.content.decode()
    member.user.refresh_from_db()
    assert member.user.email == old
    # Another account's address, in any case, is refused.
    factories.UserFactory(email="taken@example.com")
    taken = client.post(
        url, {**change, "email": "Taken@Example.com", "password": "correct-horse-battery"}
    )
    assert "Another account uses this e-mail address." in taken.content.decode()
    mail.outbox.clear()
    new = {**change, "email": "Maya@New.example", "password": "correct-horse-battery"}
    with django_capture_on_commit_callbacks(execute=True):  # the outbox's relay runs
        done = client.post(url, new, follow=True)
    assert "We sent a link to maya@new.example" in done.content.decode()
    assert f"you log in with {old}" in done.content.decode()
    member.user.refresh_from_db()
    assert member.user.email == member.user.username == old  # not until the link is followed
    # Only the new address hears of it, with the link that confirms it.
    [sent] = mail.outbox
    assert sent.to == ["maya@new.example"] and "within 3 days" in sent.body
    link = re.search(r"http://\S+/me/details/email/\S+/", sent.body).group(0)
    path = link.removeprefix(settings.SITE_URL.rstrip("/"))
    client.logout()  # the link works from any browser: it went to the new mailbox
    asked = client.get(path).content.decode()
    assert "Confirm maya@new.example" in asked
    member.user.refresh_from_db()
    assert member.user.email == old  # a GET (a mail scanner's, say) changes nothing
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(path, follow=True)
    assert "Your e-mail address is now maya@new.example" in done.content.decode()
    member.user.refresh_from_db()
    assert member.user.email == member.user.username == "maya@new.example"
    # The old address is told, once; following the link again changes nothing.
    assert [m.to for m in mail.outbox] == [["maya@new.example"], [old]]
    assert "now uses another one: maya@new.example" in mail.outbox[1].body
    with django_capture_on_commit_callbacks(execute=True):
        again = client.post(path, follow=True)
    assert again.status_code == 200 and len(mail.outbox) == 2
    assert "is already this account's address" in client.get(path).content.decode()
    assert client.put(path).status_code == 405
    # An altered link is refused with a clear message.
    broken = client.post(path[:-4] + "xyz/")
    assert broken.status_code == 400 and "This link is not valid" in broken.content.decode()
    # The new address logs in; the old one no longer does.
    bad = {"username": old, "password": "correct-horse-battery"}
    assert client.post(reverse("members:login"), bad).status_code == 200
    login = {"username": "maya@new.example", "password": "correct-horse-battery"}
    assert client.post(reverse("members:login"), login).status_code == 302


@pytest.mark.django_db
def test_reset_emails_are_limited_per_address_and_per_client(client, member):
    url = reverse("members:password_reset")
    for _ in range(3):  # PASSWORD_RESET_THROTTLE: 3 an hour per address
        assert client.post(url, {"email": member.user.email}).status_code == 302
    assert len(mail.outbox) == 3
    refused = client.post(url, {"email": member.user.email.upper()})
    assert refused.status_code == 200
    assert "Several reset e-mails were asked for this address" in refused.content.decode()
    assert len(mail.outbox) == 3
    # An address without an account is limited alike, so a refusal says nothing of accounts.
    for _ in range(3):
        assert client.post(url, {"email": "nobody@example.com"}).status_code == 302
    assert "Several reset" in client.post(url, {"email": "nobody@example.com"}).content.decode()
    # PASSWORD_RESET_IP_THROTTLE: 20 an hour from one client, whatever the addresses (six so
    # far; the refused ones did not count).
    for i in range(14):
        assert client.post(url, {"email": f"other{i}@example.com"}).status_code == 302
    assert "Several reset" in client.post(url, {"email": "last@example.com"}).content.decode()
    elsewhere = client.post(url, {"email": "last@example.com"}, REMOTE_ADDR="10.0.0.2")
    assert elsewhere.status_code == 302


@pytest.mark.django_db
def test_links_to_new_addresses_are_limited_per_member(client, member):
    client.force_login(member.user)
    url = reverse("members:details")
    change = {"first_name": "", "last_name": "", "password": "correct-horse-battery"}
    for i in range(5):  # EMAIL_CHANGE_THROTTLE: 5 an hour
        sent = client.post(url, {**change, "email": f"new{i}@example.com"})
        assert sent.status_code == 302
    refused = client.post(url, {**change, "email": "new5@example.com"})
    assert "You asked for several address changes just now" in refused.content.decode()
    links = OutboxMessage.objects.filter(handler="members.emails.send_email_confirmation")
    assert [m.args[1] for m in links.order_by("pk")] == [f"new{i}@example.com" for i in range(5)]
    # A name alone sends nothing and is not limited.
    assert client.post(url, {**change, "email": member.user.email}).status_code == 302


@pytest.mark.django_db
def test_studio_staff_change_their_address_from_the_dashboard(client, studio):
    owner = factories.StaffFactory(studio=studio, role="owner").user  # no member profile
    client.force_login(owner)
    dashboard = client.get(reverse("partner:overview", args=[studio.slug])).content.decode()
    assert reverse("members:details") in dashboard
    change = {"first_name": "Ana", "last_name": "Ruiz", "password": "correct-horse-battery"}
    done = client.post(reverse("members:details"), {**change, "email": "ana@studio.example"})
    assert done.status_code == 302
    link = OutboxMessage.objects.get(handler="members.emails.send_email_confirmation")
    client.post(reverse("members:confirm_email", args=[link.args[2]]))
    owner.refresh_from_db()
    assert (owner.email, owner.username, owner.get_full_name()) == (
        "ana@studio.example",
        "ana@studio.example",
        "Ana Ruiz",
    )
    assert OutboxMessage.objects.filter(handler="members.emails.send_email_changed").exists()
    # The team sees the name beside the address.
    team = client.get(reverse("partner:team", args=[studio.slug])).content.decode()
    assert "Ana Ruiz · ana@studio.example" in team


@pytest.mark.django_db
def test_payments_run_newest_first_and_page_on_to_older_ones(client, active_member):
    for n in range(26):
        Payment.objects.create(
            member=active_member,
            kind="plan",
            amount_cents=8599,
            currency="USD",
            status="succeeded",
            provider="local",
            reference=f"cycle-{n}",
            description=f"Core plan, cycle {n}",
        )
    client.force_login(active_member.user)
    first = client.get(reverse("members:payments")).content.decode()
    second = client.get(reverse("members:payments"), {"page": 2}).content.decode()
    assert "Older →" in first and "Later" not in first
    assert "← Newer" in second and "Earlier" not in second


@pytest.mark.django_db
def test_an_api_token_s_date_is_the_member_s_day(client, member):
    record, _ = services.create_api_token(member.user)
    # 02:30 UTC on the 27th is the evening of the 26th in New York, the member's city.
    AuthToken.objects.filter(pk=record.pk).update(created=datetime(2026, 11, 27, 2, 30, tzinfo=UTC))
    client.force_login(member.user)
    page = client.get(reverse("members:account")).content.decode()
    assert f"{record.token_key}…</code> created 26 Nov 2026" in page
