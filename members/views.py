"""Member website: sign-up, log-in, the account page and plan changes."""

import hashlib

from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from classpass import ratelimit
from studios.templatetags.money import format_credits

from . import selectors, services
from .context_processors import NAV_ROLES
from .errors import MemberError, TooManySignUps
from .forms import (
    DeleteAccountForm,
    DetailsForm,
    EmailAuthenticationForm,
    PlanChoiceForm,
    SignUpForm,
)


def _remember_roles(request) -> None:
    request.session[NAV_ROLES] = selectors.account_roles(request.user)


class LoginView(auth_views.LoginView):
    template_name = "members/login.html"
    authentication_form = EmailAuthenticationForm
    redirect_authenticated_user = True

    def form_valid(self, form):
        response = super().form_valid(form)
        _remember_roles(self.request)
        return response


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """Setting a password from the link e-mailed to the account proves its mailbox: a member's
    address is then confirmed, as the sign-up's link would have done."""

    template_name = "members/password_reset_confirm.html"
    success_url = reverse_lazy("members:password_reset_complete")

    def form_valid(self, form):
        response = super().form_valid(form)
        services.mark_address_confirmed(form.user)
        return response


def sign_up(request):
    if request.user.is_authenticated:
        return redirect("members:account")
    form = SignUpForm(request.POST or None, city=request.GET.get("market"))
    if request.method == "POST" and form.is_valid():
        try:
            services.count_sign_up(ratelimit.client_address(request))
        except TooManySignUps as exc:
            form.add_error(None, exc.message)
            return render(request, "members/sign_up.html", {"form": form})
        try:
            member = services.sign_up(**form.cleaned_data)
        except MemberError as exc:
            form.add_error("email", exc.message)
        else:
            login(request, member.user, backend="members.auth.EmailBackend")
            _remember_roles(request)
            messages.success(
                request,
                "Welcome to classpass! Pick a plan to start booking. We sent a link to "
                f"{member.user.email}: follow it to confirm your address.",
            )
            return redirect("members:plan")
    return render(request, "members/sign_up.html", {"form": form})


def _member_or_404(request):
    member = selectors.member_for_user(request.user)
    if member is None:
        raise Http404("This account has no member profile.")
    return member


@login_required
def account(request):
    member = selectors.member_for_user(request.user)
    if member is None:
        if home := selectors.home_without_profile(request.user):
            return redirect(home)
        raise Http404("This account has no member profile.")
    page = Paginator(selectors.credit_history(member), 25).get_page(request.GET.get("page"))
    return render(
        request,
        "members/account.html",
        {
            "member": member,
            "page": page,
            "tokens": selectors.api_tokens(request.user),
            "saved_studios": selectors.saved_studios(member),
            "declined": selectors.declined_renewal(member),
        },
    )


@login_required
def payments(request):
    member = _member_or_404(request)
    page = Paginator(selectors.payment_history(member), 25).get_page(request.GET.get("page"))
    return render(request, "members/payments.html", {"member": member, "page": page})


@login_required
def plan(request):
    member = _member_or_404(request)
    form = PlanChoiceForm(request.POST or None, market=member.home_market)
    if request.method == "POST" and form.is_valid():
        chosen = form.cleaned_data["plan"]
        try:
            done = services.pick_plan(member, chosen)
        except MemberError as exc:
            form.add_error("plan", exc.message)
        else:
            if done == "changed":
                message = f"From your next renewal you'll be on the {chosen.name} plan."
            else:
                message = (
                    f"You're on the {chosen.name} plan: "
                    f"{format_credits(chosen.credits_per_cycle)} "
                    f"{'is' if chosen.credits_per_cycle == 1 else 'are'} yours."
                )
            messages.success(request, message)
            return redirect("members:account")
    return render(
        request,
        "members/plan.html",
        {"member": member, "form": form, "plans": selectors.plans_for(member.home_market)},
    )


def _plan_action(request, action, done: str):
    member = _member_or_404(request)
    try:
        action(member)
    except MemberError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, done)
    return redirect("members:account")


@login_required
@require_POST
def pause(request):
    return _plan_action(request, services.pause, "Your plan is paused. Your credits wait for you.")


@login_required
@require_POST
def resume(request):
    return _plan_action(request, services.resume, "Welcome back: a new cycle has started.")


@login_required
def cancel(request):
    """GET asks first (what is lost, what stays); POST cancels."""
    if request.method != "POST":
        member = _member_or_404(request)
        if not member.has_plan:
            messages.error(request, "There is no plan to cancel.")
            return redirect("members:account")
        return render(request, "members/cancel_plan.html", {"member": member})
    return _plan_action(request, services.cancel_plan, "Your plan is cancelled.")


@login_required
@require_POST
def class_reminders(request):
    member = _member_or_404(request)
    enabled = request.POST.get("enabled") == "on"
    services.set_class_reminders(member, enabled=enabled)
    messages.success(
        request,
        "You will be e-mailed before each class you book."
        if enabled
        else "No more reminders before your classes.",
    )
    return redirect("members:account")


@login_required
@require_POST
def save_studio(request, slug: str):
    """Save a studio among "My studios" (saved=on) or take it out; back to where it was asked."""
    member = _member_or_404(request)
    studio = selectors.studio_to_save(slug)
    if studio is None:
        raise Http404("That studio does not exist.")
    saved = request.POST.get("saved") == "on"
    services.save_studio(member, studio, saved=saved)
    messages.success(
        request,
        f"{studio.name} is in My studios." if saved else f"{studio.name} is out of My studios.",
    )
    back = request.POST.get("next", "")
    if not back.startswith("/") or not url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        back = reverse("members:account")
    return HttpResponseRedirect(back)  # a path, never a view name to look up


class PasswordResetView(auth_views.PasswordResetView):
    """Django's password reset, with limits on the e-mails it sends: per address asked for
    (whether or not an account has it, so a refusal tells nothing) and per client address, so
    nobody can flood a mailbox with reset e-mails through the site."""

    template_name = "members/password_reset.html"
    email_template_name = "members/email/password_reset.txt"
    html_email_template_name = "members/email/password_reset.html"
    subject_template_name = "members/email/password_reset_subject.txt"
    success_url = reverse_lazy("members:password_reset_done")

    def form_valid(self, form):
        address = form.cleaned_data["email"].strip().lower()
        wait = ratelimit.hit(
            [
                ("password_reset", hashlib.sha256(address.encode()).hexdigest()),
                ("password_reset_ip", ratelimit.client_address(self.request)),
            ]
        )
        if wait is not None:
            form.add_error(
                "email",
                "Several reset e-mails were asked for this address or from here just now. "
                f"Check your inbox, or try again in {ratelimit.in_minutes(wait)}.",
            )
            return self.form_invalid(form)
        return super().form_valid(form)


@login_required
def details(request):
    """The account's name and e-mail address; a new address needs the password and a link.
    Members and studio staff alike (staff reach it from the Partner Dashboard)."""
    user = request.user
    initial = {"first_name": user.first_name, "last_name": user.last_name, "email": user.email}
    form = DetailsForm(request.POST or None, initial=initial, user=user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        wait = ratelimit.hit([("email_change", str(user.pk))]) if form.changes_address else None
        if wait is not None:  # each change e-mails a link to an address the account names
            form.add_error(
                "email",
                "You asked for several address changes just now. "
                f"Try again in {ratelimit.in_minutes(wait)}.",
            )
            return render(request, "members/details.html", {"form": form})
        try:
            new_email = services.change_details(
                user,
                first_name=data["first_name"],
                last_name=data["last_name"],
                email=data["email"],
            )
        except MemberError as exc:
            form.add_error("email", exc.message)
        else:
            days = services.email_change_days()
            messages.success(
                request,
                f"Saved. We sent a link to {new_email}: follow it within {days} days to log in "
                f"with that address. Until then, you log in with {user.email}."
                if new_email
                else "Saved.",
            )
            return redirect("members:account")  # which sends staff to their dashboard
    return render(request, "members/details.html", {"form": form})


@require_http_methods(["GET", "HEAD", "POST"])
def confirm_email(request, token):
    """The link e-mailed to a new address. GET says what it does; POST makes the address the
    account's. No log-in is needed: the link itself proves the mailbox, and it was asked for
    with the account's password."""
    try:
        user, new_email = services.email_change_of(token)
        own = user.email == new_email  # the address a member signed up with, or done before
        if request.method == "POST":
            user = services.confirm_email_change(token)
    except MemberError as exc:
        return render(request, "members/confirm_email.html", {"error": exc.message}, status=400)
    if request.method == "POST":
        messages.success(
            request,
            f"Thank you: {user.email} is confirmed."
            if own
            else f"Your e-mail address is now {user.email}. Log in with it from now on.",
        )
        if request.user.is_authenticated and request.user.pk == user.pk:
            return redirect("members:account")
        return redirect("members:login")
    done = own and services.address_confirmed(user)
    return render(
        request,
        "members/confirm_email.html",
        {"error": "", "new_email": new_email, "own": own, "done": done},
    )


@login_required
@require_POST
def confirm_again(request):
    """Send the link that confirms the member's address once more (from the account page)."""
    wait = ratelimit.hit([("email_change", str(request.user.pk))])
    if wait is not None:
        messages.error(
            request,
            "We sent several links just now. Check your inbox (and spam folder), or try again "
            f"in {ratelimit.in_minutes(wait)}.",
        )
    elif services.send_address_link_again(request.user):
        messages.success(request, f"We sent the link again to {request.user.email}.")
    else:
        messages.success(request, f"{request.user.email} is confirmed already.")
    return redirect("members:account")


@login_required
def delete_account(request):
    """GET says what goes and what stays; POST, with the password, deletes and logs out."""
    member = _member_or_404(request)
    form = DeleteAccountForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            services.delete_account(member)
        except MemberError as exc:
            form.add_error(None, exc.message)
        else:
            logout(request)
            messages.success(request, "Your account is deleted. Thank you for the classes.")
            return redirect("home")
    return render(request, "members/delete_account.html", {"member": member, "form": form})


@login_required
@require_POST
def create_token(request):
    _, token = services.create_api_token(request.user)
    messages.success(request, f"Your new API token (shown only now): {token}")
    return redirect("members:account")


@login_required
@require_POST
def revoke_token(request, token_key: str):
    if services.revoke_api_token(request.user, token_key):
        messages.success(request, "Token revoked.")
    else:
        messages.error(request, "No such token.")
    return redirect("members:account")
