"""Django admin for reservations and waitlists: read and search; changes go through the engine."""

from django.contrib import admin, messages

from studios.admin import ClassSessionAdmin, MoneyAdmin, NewestFirstAdmin, studio_time
from studios.models import ClassSession, SessionStatus

from . import services
from .errors import BookingError
from .models import Reservation, WaitlistEntry, WebhookSubscription

# The class admin (the studios app's) gains the engine's cancellation: everyone refunded and
# e-mailed, waitlists closed. The studios app does not import the engine, so it is added here.
admin.site.unregister(ClassSession)


@admin.register(ClassSession)
class ClassSessionWithCancelAdmin(ClassSessionAdmin):
    actions = ["cancel_classes"]

    @admin.action(description="Cancel the class (everyone refunded and e-mailed)")
    def cancel_classes(self, request, queryset):
        cancelled, refunded, refused = 0, 0, []
        for session in queryset.filter(status=SessionStatus.SCHEDULED):
            try:
                refunded += services.cancel_session(session.pk)
            except BookingError as exc:  # it has started: it happened, its marks count
                refused.append(f"{session}: {exc.message}")
            else:
                cancelled += 1
        if cancelled:
            self.message_user(request, f"Cancelled; {refunded} reservation(s) refunded.")
        for reason in refused:
            self.message_user(request, f"Not cancelled: {reason}", level=messages.WARNING)


@admin.register(Reservation)
class ReservationAdmin(NewestFirstAdmin, MoneyAdmin):
    list_display = [
        "created_at",
        "starts_local",
        "member",
        "studio",
        "kind",
        "premium_reason",
        "source",
        "status",
        "credits_spent",
    ]
    list_filter = ["status", "kind", "source", "studio__market"]
    search_fields = ["member__user__email", "studio__name", "public_id", "idempotency_key"]
    date_hierarchy = "starts_at"
    # The row's checkbox is labelled with str(reservation), which names the class.
    list_select_related = ["member__user", "studio__market", "session__class_type"]
    starts_local = studio_time("starts_at", "studio.market")
    raw_id_fields = ["member", "session", "studio", "payment"]
    actions = ["cancel_reservations"]
    money_fields = dict.fromkeys(["money_paid_cents", "studio_payout_cents"], "currency")

    def has_add_permission(self, request):
        return False  # bookings are made by members (or the API) through the engine

    def has_delete_permission(self, request, obj=None):
        return False

    # Every column is read only (changes go through the engine); money is shown as money.
    readonly_fields = [f.name for f in Reservation._meta.fields] + ["starts_local"]

    @admin.action(description="Cancel (refund per the cancellation rules)")
    def cancel_reservations(self, request, queryset):
        done = 0
        for reservation in queryset:
            try:
                services.cancel(reservation.pk)
                done += 1
            except BookingError as exc:
                self.message_user(request, f"{reservation}: {exc.message}", messages.WARNING)
        self.message_user(request, f"Cancelled {done} reservation(s).")


@admin.register(WaitlistEntry)
class WaitlistEntryAdmin(admin.ModelAdmin):
    list_display = ["created_at", "member", "session", "starts_local", "status"]
    list_filter = ["status"]
    search_fields = ["member__user__email"]
    list_select_related = ["member__user", "session__class_type", "session__studio__market"]
    starts_local = studio_time("session.starts_at", "session.studio.market")
    raw_id_fields = ["member", "session", "reservation"]

    def has_add_permission(self, request):
        return False

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(admin.ModelAdmin):
    list_display = ["studio", "url", "is_active", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["studio__name", "url"]
    raw_id_fields = ["studio"]
    readonly_fields = ["secret"]
