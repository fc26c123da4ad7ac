"""Django admin for plans, members, the credit ledger, payments and saved studios."""

from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from studios.admin import FixedOnceMade, LedgerAdmin, MoneyAdmin, NewestFirstAdmin, run_each
from studios.forms import InCurrency, MoneyField
from studios.templatetags.money import format_money

from . import services
from .errors import MemberError
from .models import CreditEntry, Member, Payment, Plan, SavedStudio

User = get_user_model()
admin.site.unregister(User)


@admin.register(User)
class AccountAdmin(UserAdmin):
    """Django's user admin, except that someone on a studio's team is not deleted here: their
    memberships would go with them, past the team services' rule that a studio keeps an owner.
    They leave each team on the team admin first; a member's account is closed with the member
    list's action (its ledgers protect it from deletion here anyway)."""

    def has_delete_permission(self, request, obj=None):
        # Also asked of each user that the list's delete action would take, which refuses
        # the whole selection if it holds one of them.
        if obj is not None and obj.staff_memberships.exists():
            return False
        return super().has_delete_permission(request, obj)


@admin.register(Plan)
class PlanAdmin(FixedOnceMade, MoneyAdmin):
    list_display = ["name", "market", "credits_per_cycle", "price_cents", "is_active"]
    money_fields = {"price_cents": "market.currency"}
    list_filter = ["market", "is_active"]
    search_fields = ["name"]
    list_select_related = ["market"]
    fields = ["market", "name", "credits_per_cycle", "price_cents", "is_active"]
    # Its members, payments and price are its market's: a plan does not change city.
    fixed_once_made = ["market"]

    def get_readonly_fields(self, request, obj=None):
        """A plan that members hold keeps its price and credits: each renewal would charge and
        grant the new ones, unannounced. A new price is a new plan (this one retired, with
        "is active" off, stays with the members who hold it until they change)."""
        readonly = super().get_readonly_fields(request, obj)
        if obj is not None and Member.objects.filter(Q(plan=obj) | Q(next_plan=obj)).exists():
            return [*readonly, "credits_per_cycle", "price_cents_shown"]
        return readonly


class CreditAdjustmentForm(forms.Form):
    amount = forms.IntegerField(help_text="Credits to add; negative to remove.")
    note = forms.CharField(max_length=255, help_text="Why. The member sees this in their history.")


class RefundForm(InCurrency, forms.Form):
    amount_cents = MoneyField(label="Amount", min_value=Decimal("0.01"))
    reason = forms.CharField(max_length=200, help_text="Why. The member sees this.")
    refunded_before_cents = forms.IntegerField(widget=forms.HiddenInput)


class PlanFilter(admin.RelatedFieldListFilter):
    """A plan's name includes its market's: read the plans with their markets at once."""

    def field_choices(self, field, request, model_admin):
        plans = Plan.objects.select_related("market").order_by("market__name", "credits_per_cycle")
        return [(plan.pk, str(plan)) for plan in plans]


SUBSCRIPTION = ["plan", "next_plan", "status", "subscription_key", "next_renewal_at"]


@admin.register(Member)
class MemberAdmin(admin.ModelAdmin):
    list_display = ["user", "home_market", "plan", "status", "credit_balance", "next_renewal_at"]
    list_filter = [
        "status",
        "home_market",
        ("plan", PlanFilter),
        ("email_confirmed_at", admin.EmptyFieldListFilter),
        ("deleted_at", admin.EmptyFieldListFilter),
    ]
    search_fields = ["user__email", "user__first_name", "user__last_name"]
    list_select_related = ["user", "home_market", "plan__market"]
    raw_id_fields = ["user"]
    fields = [
        "user",
        "home_market",
        *SUBSCRIPTION,
        "class_reminders",
        "credit_balance_with_link",
        "cycle_anchor",
        "cycle_started_at",
        "cycle_number",
        "calendar_token",
        "email_confirmed_at",
        "deleted_at",
    ]
    # The balance is a cache of the ledger: it moves only through ledger entries. The
    # subscription moves only through the services, which charge, grant, forfeit and e-mail:
    # set by hand, a status of "cancelled" kept the credits a cancellation forfeits, and a plan
    # of another city renewed at that city's price. Support pauses and cancels plans with the
    # actions below; the member chooses, changes and resumes theirs (which charges their card).
    readonly_fields = [
        *SUBSCRIPTION,
        "credit_balance_with_link",
        "cycle_anchor",
        "cycle_started_at",
        "cycle_number",
        "calendar_token",
        "email_confirmed_at",  # by the link e-mailed to the member only
        "deleted_at",
    ]
    actions = ["pause_plans", "cancel_plans", "delete_accounts"]

    def get_readonly_fields(self, request, obj=None):
        # A plan belongs to its city: a member with one moves city once it is cancelled.
        if obj is not None and obj.has_plan:
            return [*self.readonly_fields, "home_market"]
        return self.readonly_fields

    def save_model(self, request, obj, form, change):
        """Write only the fields this admin changed. Saving the whole row would write back the
        balance as read when the form was posted, undoing a booking made meanwhile (the
        balance would then disagree with the ledger)."""
        if not change:
            return super().save_model(request, obj, form, change)
        if form.changed_data:
            obj.save(update_fields=form.changed_data)

    def has_delete_permission(self, request, obj=None):
        # A profile carries the ledger, payments and reservations: it is never removed. An
        # account is closed with the action below, which erases what identifies the member.
        return False

    def _confirmation(self, request, chosen, action: str, title: str) -> TemplateResponse:
        """The page that asks before `action` runs on the chosen members; its template says
        what the action does (templates/admin/members/<action>.html)."""
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "members": chosen,
            "action": action,
            "opts": self.model._meta,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, f"admin/members/{action}.html", context)

    def _each_member(self, request, chosen, change, done: str) -> None:
        changed = run_each(self, request, chosen, change, refusal=MemberError, logged=done)
        self.message_user(request, f"{done}: {changed} member(s).")

    @admin.action(description="Pause plans (renewals stop; credits kept)")
    def pause_plans(self, request, queryset):
        chosen = queryset.select_related("user")
        self._each_member(request, chosen, services.pause, "Plan paused by support")

    @admin.action(description="Cancel plans (unused credits forfeited)")
    def cancel_plans(self, request, queryset):
        """As the member would from their account page, after a confirmation page."""
        chosen = list(queryset.select_related("user", "plan__market"))
        if request.POST.get("confirmed") != "yes":
            return self._confirmation(request, chosen, "cancel_plans", "Cancel these plans?")
        self._each_member(request, chosen, services.cancel_plan, "Plan cancelled by support")
        return None

    @admin.action(description="Delete accounts at the members' request (erase personal data)")
    def delete_accounts(self, request, queryset):
        """Close accounts as the member would from /me/delete/, after a confirmation page."""
        chosen = list(queryset.select_related("user", "plan__market"))
        if request.POST.get("confirmed") != "yes":
            return self._confirmation(request, chosen, "delete_accounts", "Delete these accounts?")
        deleted = 0
        for member in chosen:
            label = str(member)
            try:
                services.delete_account(member)
            except MemberError as exc:
                self.message_user(request, f"{label}: {exc.message}", messages.WARNING)
            else:
                deleted += 1
        self.message_user(request, f"Deleted {deleted} account(s).")
        return None

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name in {"plan", "next_plan"}:  # each option names the plan's market
            kwargs["queryset"] = Plan.objects.select_related("market")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @admin.display(description="Credit balance")
    def credit_balance_with_link(self, obj):
        if obj.pk is None:
            return 0
        url = reverse("admin:members_member_adjust_credits", args=[obj.pk])
        return format_html('{} · <a href="{}">Adjust credits</a>', obj.credit_balance, url)

    def get_urls(self):
        return [
            path(
                "<int:member_id>/adjust-credits/",
                self.admin_site.admin_view(self.adjust_credits_view),
                name="members_member_adjust_credits",
            ),
            *super().get_urls(),
        ]

    def adjust_credits_view(self, request, member_id):
        member = get_object_or_404(Member.objects.select_related("user"), pk=member_id)
        if not self.has_change_permission(request, member):
            return redirect("admin:index")
        form = CreditAdjustmentForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                services.adjust_credits(
                    member,
                    amount=form.cleaned_data["amount"],
                    note=form.cleaned_data["note"],
                    by=request.user,
                )
            except MemberError as exc:
                form.add_error("amount", exc.message)
            else:
                self.message_user(
                    request, f"Adjusted {member}'s credits; balance is now {member.credit_balance}."
                )
                return redirect("admin:members_member_change", member.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Adjust credits of {member}",
            "member": member,
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/members/adjust_credits.html", context)


@admin.register(CreditEntry)
class CreditEntryAdmin(NewestFirstAdmin, LedgerAdmin):
    list_display = ["created_at", "member", "kind", "amount", "balance_after", "reference"]
    list_filter = ["kind"]
    search_fields = ["member__user__email", "reference", "note"]
    date_hierarchy = "created_at"
    list_select_related = ["member__user"]

    def has_add_permission(self, request):
        return False  # adjustments go through the member's "Adjust credits" page


@admin.register(Payment)
class PaymentAdmin(NewestFirstAdmin, MoneyAdmin, LedgerAdmin):
    list_display = [
        "created_at",
        "member",
        "kind",
        "amount_cents",
        "status",
        "provider",
    ]
    money_fields = {"amount_cents": "currency"}
    list_filter = ["kind", "status", "provider"]
    search_fields = ["member__user__email", "reference", "provider_reference"]
    date_hierarchy = "created_at"
    list_select_related = ["member__user"]

    def has_add_permission(self, request):
        return False  # money moves through the payment provider, never by hand

    def get_readonly_fields(self, request, obj=None):
        return [*super().get_readonly_fields(request, obj), "refunds_with_link"]

    @admin.display(description="Refunds")
    def refunds_with_link(self, obj):
        if obj.pk is None or obj.kind == "refund" or obj.status != "succeeded":
            return "—"
        given = services.refunded_cents(obj)
        link = reverse("admin:members_payment_refund", args=[obj.pk])
        left = obj.amount_cents - given
        if left <= 0:
            given = format_money(given, obj.currency)
            return f"Nothing left to refund ({given} refunded or pending)"
        return format_html(
            '{} refunded or pending · <a href="{}">Refund</a>',
            format_money(given, obj.currency),
            link,
        )

    def get_urls(self):
        return [
            path(
                "<int:payment_id>/refund/",
                self.admin_site.admin_view(self.refund_view),
                name="members_payment_refund",
            ),
            *super().get_urls(),
        ]

    def refund_view(self, request, payment_id):
        """Support gives money back: all or part of what is left, with a reason."""
        payment = get_object_or_404(Payment.objects.select_related("member__user"), pk=payment_id)
        if not request.user.has_perm("members.change_payment"):
            return redirect("admin:index")
        given = services.refunded_cents(payment)
        left = payment.amount_cents - given
        form = RefundForm(
            request.POST or None,
            initial={"amount_cents": left, "refunded_before_cents": given},
            currency=payment.currency,
        )
        if request.method == "POST" and form.is_valid():
            try:
                made = services.refund_by_support(payment.pk, by=request.user, **form.cleaned_data)
            except MemberError as exc:
                form.add_error(None, exc.message)
            else:
                # Who gave it back: the payment's history in admin (the member sees the reason).
                self.log_change(
                    request,
                    payment,
                    f"Refund {made.reference} of {format_money(-made.amount_cents, made.currency)}"
                    f" ({made.status}): {form.cleaned_data['reason']}",
                )
                amount = format_money(-made.amount_cents, made.currency)
                if made.status == "succeeded":
                    self.message_user(request, f"Refunded: {amount}.")
                elif made.status == "pending":  # asked again by settle_pending_payments
                    self.message_user(
                        request,
                        f"Pending: {amount}. The payment service did not answer; it is asked "
                        "again every 5 minutes for a day, and the member is e-mailed the outcome.",
                        level=messages.WARNING,
                    )
                else:  # refused, or not answered for a day: nothing was given back
                    self.message_user(
                        request,
                        f"Not refunded ({made.failure_reason or 'refused'}): {amount}. "
                        "Try again later.",
                        level=messages.WARNING,
                    )
                return redirect("admin:members_payment_change", payment.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Refund {payment}",
            "payment": payment,
            "given": given,
            "left": left,
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/members/refund.html", context)


@admin.register(SavedStudio)
class SavedStudioAdmin(admin.ModelAdmin):
    """Which members keep which studios among "My studios": read to answer a member or a studio."""

    list_display = ["created_at", "member", "studio"]
    search_fields = ["member__user__email", "studio__name"]
    list_select_related = ["member__user", "studio"]
    raw_id_fields = ["member", "studio"]
