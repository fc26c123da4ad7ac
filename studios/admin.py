"""Django admin for markets, studios, staff, schedules, sessions and the earnings ledger."""

import re
from decimal import Decimal
from operator import attrgetter

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import csrf_protect_m
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone

from . import services
from .errors import InventoryError
from .forms import MoneyField
from .models import (
    AuditEntry,
    ClassSession,
    ClassType,
    EarningEntry,
    Instructor,
    Market,
    OutboxMessage,
    Schedule,
    StaffMembership,
    Studio,
)
from .templatetags.money import format_money


class NewestFirstAdmin(admin.ModelAdmin):
    """For tables that grow with every booking: newest rows first, by primary key, which its
    index serves, so a page reads its 100 rows instead of joining and sorting the whole table
    (the reservation list took 235-294 ms over 47,221 rows ordered by class start); and one
    COUNT per page, not a second one for the unfiltered total."""

    ordering = ["-pk"]
    show_full_result_count = False


class MoneyAdmin(admin.ModelAdmin):
    """Money as money. Each of `money_fields` (a column of minor units, `price_cents`) is listed
    and shown as "$47.49" in its row's currency, and typed as 47.49: never as a count of cents,
    where a price typed as 47 would sell a plan for 47 cents.

    `money_fields` maps each column to where its row's currency is: "market.currency"."""

    money_fields: dict[str, str] = {}
    MINOR_UNITS = re.compile(r",? (in )?minor units")

    def __init__(self, model, admin_site):
        super().__init__(model, admin_site)
        for name, currency in self.money_fields.items():
            setattr(self, self._shown(name), self._column(model, name, attrgetter(currency)))

    @staticmethod
    def _shown(name: str) -> str:
        return f"{name}_shown"

    @staticmethod
    def _label(field) -> str:
        return field.verbose_name.removesuffix(" cents").capitalize()  # "price cents": "Price"

    def _column(self, model, name: str, currency):
        @admin.display(description=self._label(model._meta.get_field(name)), ordering=name)
        def column(obj):
            cents = getattr(obj, name)
            return "" if cents is None else format_money(cents, currency(obj))

        return column

    def get_list_display(self, request):
        return [
            self._shown(name) if name in self.money_fields else name
            for name in super().get_list_display(request)
        ]

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if obj is not None and not self.has_change_permission(request, obj):
            readonly += self.money_fields  # a page to view only: every field is shown
        return list(
            dict.fromkeys(
                self._shown(name) if name in self.money_fields else name for name in readonly
            )
        )

    def get_fields(self, request, obj=None):
        shown = set(self.get_readonly_fields(request, obj))
        return list(
            dict.fromkeys(
                self._shown(name) if self._shown(name) in shown else name
                for name in super().get_fields(request, obj)
            )
        )

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name not in self.money_fields:
            return super().formfield_for_dbfield(db_field, request, **kwargs)
        signed = db_field.get_internal_type() != "PositiveIntegerField"
        most = Decimal("999999.99")
        help_text = self.MINOR_UNITS.sub("", str(db_field.help_text)).strip()
        return MoneyField(
            label=self._label(db_field),
            required=not db_field.blank,
            initial=db_field.get_default() if db_field.has_default() else None,
            min_value=-most if signed else Decimal("0"),
            max_value=most,
            help_text=f"{help_text} In major units: 47.49, not 4749.".strip(),
        )

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        if obj is not None:  # the row's currency is known: name it beside the amount
            for name, currency in self.money_fields.items():
                if field := form.base_fields.get(name):
                    field.label = f"{field.label} ({attrgetter(currency)(obj)})"
        return form


def studio_time(field: str, market: str):
    """A column (of a list, or read-only on a page) showing the instant `field` ("starts_at",
    "session.starts_at") in its studio's time ("Fri 27 Nov 2026, 18:30 EST"), the time
    members, staff and support speak of; admin's own columns are in UTC, which put a New York
    evening class on the next day. `market` is where the row's market is ("studio.market"),
    to be selected with the rows."""
    value_of, market_of = attrgetter(field), attrgetter(market)

    @admin.display(description="Starts (studio time)", ordering=field.replace(".", "__"))
    def column(model_admin, obj):
        value = value_of(obj)
        if value is None:
            return ""
        return f"{timezone.localtime(value, market_of(obj).tzinfo):%a %-d %b %Y, %H:%M %Z}"

    return column


class FixedOnceMade(admin.ModelAdmin):
    """`fixed_once_made`: fields set when a row is added and read-only on its page after, for
    what other rows are denominated in, placed in or copied from."""

    fixed_once_made: list[str] = []

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        return readonly if obj is None else [*readonly, *self.fixed_once_made]


def run_each(model_admin, request, rows, change, *, refusal: type[Exception], logged: str) -> int:
    """An admin action's service run on each chosen row: a row it refuses (`refusal`) is named
    with the reason, the others go ahead and are logged in their history. How many went."""
    done = 0
    for row in rows:
        try:
            change(row)
        except refusal as exc:
            model_admin.message_user(request, f"{row}: {exc.message}", messages.WARNING)
        else:
            done += 1
            model_admin.log_change(request, row, logged)
    return done


class SavedByServices(admin.ModelAdmin):
    """A page that saves (and deletes) through the services the dashboard uses. They commit
    their own transactions (several are durable), as Django's deletion does, so the page does
    not wrap them in admin's; a refusal (InventoryError) is shown as a message, nothing is
    logged as done, and the page comes back to be corrected."""

    @csrf_protect_m
    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        return self._changeform_view(request, object_id, form_url, extra_context)

    @csrf_protect_m
    def delete_view(self, request, object_id, extra_context=None):
        return self._delete_view(request, object_id, extra_context)

    def refuse(self, request, exc: InventoryError, *, verb: str = "saved") -> None:
        request.service_refused = True
        self.message_user(request, f"Not {verb}: {exc.message}", messages.ERROR)

    @staticmethod
    def refused(request) -> bool:
        return getattr(request, "service_refused", False)

    def log_addition(self, request, obj, message):
        if not self.refused(request):
            return super().log_addition(request, obj, message)

    def log_change(self, request, obj, message):
        if not self.refused(request):
            return super().log_change(request, obj, message)

    def response_add(self, request, obj, post_url_continue=None):
        if self.refused(request):
            return HttpResponseRedirect(request.path)
        return super().response_add(request, obj, post_url_continue)

    def response_change(self, request, obj):
        if self.refused(request):
            return HttpResponseRedirect(request.path)  # back to the form, no "changed" notice
        return super().response_change(request, obj)


# What a studio made stays the studio's: moved to another, its classes and schedules would name
# another studio's class type or instructor, in another studio's dashboard.
AT_ITS_STUDIO = ["studio"]


class LedgerAdmin(admin.ModelAdmin):
    """A ledger is append-only: admins read entries, never edit or delete them."""

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return super().get_readonly_fields(request, obj)
        return [f.name for f in self.model._meta.fields]


@admin.register(Market)
class MarketAdmin(MoneyAdmin):
    list_display = ["name", "timezone", "currency", "credit_value_cents", "booking_window_days"]
    money_fields = dict.fromkeys(
        ["credit_value_cents", "late_cancel_fee_cents", "missed_class_fee_cents"], "currency"
    )
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    fields = [
        "name",
        "slug",
        "timezone",
        "currency",
        "credit_value_cents",
        "booking_window_days",
        "booking_opens_at",
        "default_cancellation_window_hours",
        "late_cancel_fee_cents",
        "missed_class_fee_cents",
    ]

    def get_readonly_fields(self, request, obj=None):
        # Amounts are kept as minor units of the market's currency, and classes as instants
        # generated from its local wall times: once it has studios or plans, another currency
        # would re-denominate every price and payout rate, and another timezone would move
        # every class already generated away from its schedule.
        readonly = super().get_readonly_fields(request, obj)
        if obj is not None and (obj.studios.exists() or obj.plans.exists()):
            readonly += ["timezone", "currency"]
        return readonly


class StaffInline(admin.TabularInline):
    """The studio's team, to read: it changes on the team's own admin page, through the
    team services (audited, e-mailed, and never without an owner)."""

    model = StaffMembership
    extra = 0
    fields = readonly_fields = ["user", "role", "created_at"]
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Studio)
class StudioAdmin(SavedByServices, FixedOnceMade, MoneyAdmin):
    list_display = ["name", "market", "monthly_visit_limit", "payout_rate_cents", "is_active"]
    money_fields = {"payout_rate_cents": "market.currency"}
    list_filter = ["market", "is_active"]
    search_fields = ["name", "slug", "address"]
    list_select_related = ["market"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [StaffInline]
    fields = [
        "market",
        "name",
        "slug",
        "address",
        "latitude",
        "longitude",
        "description",
        "categories",
        "monthly_visit_limit",
        "cancellation_window_hours",
        "booking_cutoff_minutes",
        "payout_rate_cents",
        "is_active",
    ]
    # Its classes, prices, payouts and ledgers are in its market's timezone and currency: a
    # studio does not move to another market (a new one is opened there instead).
    fixed_once_made = ["market"]

    def save_model(self, request, obj, form, change):
        """A change of the studio's settings or profile goes through the services the Settings
        page uses, so it is in the studio's audit log, which its owner reads; the rest (name,
        place, categories, listing) is admin's own and saved as it is."""
        if not change:
            return super().save_model(request, obj, form, change)
        changed = set(form.changed_data)
        settings = {k: form.cleaned_data[k] for k in services.INVENTORY_SETTINGS if k in changed}
        profile = {k: form.cleaned_data[k] for k in services.PROFILE_FIELDS if k in changed}
        if rest := sorted(changed - set(settings) - set(profile)):
            obj.save(update_fields=rest)
        services.update_settings(obj, by=request.user, **settings)
        services.update_profile(obj, by=request.user, **profile)


class StaffAddForm(forms.ModelForm):
    """Someone is added to a team by e-mail address, as on the Team page."""

    email = forms.EmailField(
        help_text="Someone without an account gets one, with an e-mail to choose a password; "
        "someone with one, an e-mail with the dashboard's address."
    )

    class Meta:
        model = StaffMembership
        fields = ["studio", "role"]

    def clean(self):
        cleaned = super().clean()
        studio, email = cleaned.get("studio"), cleaned.get("email")
        if studio and email:
            held = StaffMembership.objects.filter(studio=studio, user__username__iexact=email)
            if held := held.first():
                role = held.get_role_display().lower()
                self.add_error("email", f"{email} is already on the team ({role}).")
        return cleaned


@admin.register(StaffMembership)
class StaffMembershipAdmin(SavedByServices, FixedOnceMade):
    """Through the team services, as owners change their team: audited in the studio's log,
    e-mailed, and refused where the studio would be left without an owner."""

    list_display = ["user", "studio", "role", "created_at"]
    list_filter = ["role", "studio__market"]
    search_fields = ["user__email", "studio__name"]
    list_select_related = ["user", "studio"]
    raw_id_fields = ["user", "studio"]
    fixed_once_made = ["user", "studio"]

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = StaffAddForm
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        return ["studio", "email", "role"] if obj is None else ["user", "studio", "role"]

    def save_model(self, request, obj, form, change):
        try:
            if not change:
                added = services.add_staff(
                    obj.studio, email=form.cleaned_data["email"], role=obj.role, by=request.user
                )
                obj.pk, obj.user = added.pk, added.user
            elif "role" in form.changed_data:
                services.change_role(obj.studio, obj.pk, role=obj.role, by=request.user)
        except InventoryError as exc:
            self.refuse(request, exc)

    def log_deletions(self, request, queryset):
        pass  # admin logs before it deletes; a removal is logged by delete_model once it is done

    def delete_model(self, request, obj):
        try:
            services.remove_staff(obj.studio, obj.pk, by=request.user)
        except InventoryError as exc:
            self.refuse(request, exc, verb="removed")
        else:
            super().log_deletions(request, [obj])

    def response_delete(self, request, obj_display, obj_id):
        if self.refused(request):
            return HttpResponseRedirect(
                reverse("admin:studios_staffmembership_change", args=[obj_id])
            )
        return super().response_delete(request, obj_display, obj_id)

    def delete_queryset(self, request, queryset):
        for membership in queryset.select_related("studio", "user"):
            self.delete_model(request, membership)


class StudioCatalogAdmin(SavedByServices, FixedOnceMade):
    """A studio's class types and instructors, saved as the schedule page saves them: through
    the services (names unique per studio whatever their case, retiring and bringing back),
    each change in the studio's audit log."""

    raw_id_fields = ["studio"]
    list_select_related = ["studio"]
    fixed_once_made = AT_ITS_STUDIO

    def save(self, studio, *, by, pk, **values):
        raise NotImplementedError

    def save_model(self, request, obj, form, change):
        own = [name for name in form.fields if name not in {"studio", "is_active"}]
        names = [name for name in own if name in form.changed_data] if change else own
        try:
            item = self.save(
                obj.studio,
                by=request.user,
                pk=obj.pk if change else None,
                **{name: form.cleaned_data[name] for name in names},
            )
            obj.pk = item.pk
            if "is_active" in form.changed_data:
                retired = not form.cleaned_data["is_active"]
                services.set_retired(
                    obj.studio, self.model, item.pk, retired=retired, by=request.user
                )
        except InventoryError as exc:
            self.refuse(request, exc)


@admin.register(ClassType)
class ClassTypeAdmin(StudioCatalogAdmin):
    list_display = ["name", "studio", "category", "duration_minutes"]
    list_filter = ["category", "studio__market"]
    search_fields = ["name", "studio__name"]
    fields = ["studio", "name", "category", "duration_minutes", "description", "is_active"]

    def save(self, studio, *, by, pk, **values):
        return services.save_class_type(studio, by=by, class_type_id=pk, **values)


@admin.register(Instructor)
class InstructorAdmin(StudioCatalogAdmin):
    list_display = ["name", "studio"]
    list_filter = ["studio__market"]
    search_fields = ["name", "studio__name"]
    fields = ["studio", "name", "bio", "is_active"]

    def save(self, studio, *, by, pk, **values):
        return services.save_instructor(studio, by=by, instructor_id=pk, **values)


class ScheduleAdminForm(forms.ModelForm):
    """Checks a schedule as the Partner Dashboard does (services.check_schedule): a class type
    or instructor of another studio, a start time that the clocks skip, a plan too far ahead."""

    class Meta:
        model = Schedule
        fields = ["studio", *services.SCHEDULE_FIELDS]
        help_texts = {
            "ends_on": "To stop a schedule, set its last day: its unbooked classes after it "
            "are removed; booked ones stay until cancelled (the class list's action)."
        }

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        made = self.instance.pk is not None
        studio = self.instance.studio if made else cleaned["studio"]
        values = {name: cleaned.get(name) for name in services.SCHEDULE_FIELDS}
        kept = (
            {"class_type": self.instance.class_type_id, "instructor": self.instance.instructor_id}
            if made
            else None
        )
        try:
            services.check_schedule(studio, values, kept=kept)
        except InventoryError as exc:
            for name, message in exc.fields.items():
                self.add_error(name if name in self.fields else None, message)
        return cleaned


@admin.register(Schedule)
class ScheduleAdmin(SavedByServices, FixedOnceMade):
    # The schedule services are durable: a schedule's classes are generated after it commits.
    form = ScheduleAdminForm
    list_display = [
        "__str__",
        "studio",
        "capacity",
        "network_spots",
        "credit_price",
        "starts_on",
        "ends_on",
    ]
    list_filter = ["studio__market", "class_type__category"]
    search_fields = ["studio__name", "class_type__name"]
    list_select_related = ["studio", "class_type"]
    raw_id_fields = ["studio", "class_type", "instructor"]
    fields = ["studio", *services.SCHEDULE_FIELDS]
    fixed_once_made = AT_ITS_STUDIO

    def has_delete_permission(self, request, obj=None):
        # A deleted schedule left its upcoming classes on sale as one-offs that nothing would
        # ever remove, and its past ones without the slot SmartSpot forecasts from. A schedule
        # is stopped by its last day instead, as on the Partner Dashboard.
        return False

    def save_model(self, request, obj, form, change):
        """Through the services, as the Partner Dashboard saves: a new schedule generates its
        classes, and a change reaches the upcoming ones (a new time regenerates those nobody
        booked). Saving the row alone left the classes at the old time, and the next nightly
        run added the new time beside them: two classes a day."""
        values = {name: form.cleaned_data[name] for name in services.SCHEDULE_FIELDS}
        if not change:
            made = services.create_schedule(form.cleaned_data["studio"], by=request.user, **values)
            obj.pk = made.pk
            return
        # update_schedule compares with the schedule as stored; `obj` already holds the form's.
        stored = Schedule.objects.select_related("studio__market").get(pk=obj.pk)
        result = services.update_schedule(stored, by=request.user, **values)
        self.message_user(request, f"{result.updated} upcoming classes updated.")
        for line in result.kept:
            self.message_user(request, line, messages.WARNING)


NEW_SESSION_FIELDS = [
    "class_type",
    "instructor",
    "starts_at",
    "duration_minutes",
    "capacity",
    "network_spots",
    "studio_booked",
    "credit_price",
]


class ClassSessionAddForm(forms.ModelForm):
    """A one-off class, checked as the API's (services.check_new_session): a class type or
    instructor of the studio and not retired, a start ahead, a room that holds the spots."""

    class Meta:
        model = ClassSession
        fields = ["studio", *NEW_SESSION_FIELDS]

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        values = {name: cleaned.get(name) for name in NEW_SESSION_FIELDS}
        del values["duration_minutes"], values["credit_price"]
        try:
            services.check_new_session(cleaned["studio"], **values)
        except InventoryError as exc:
            for name, message in exc.fields.items():
                self.add_error(name if name in self.fields else None, message)
        return cleaned


@admin.register(ClassSession)
class ClassSessionAdmin(SavedByServices, FixedOnceMade):
    list_display = [
        "class_type",
        "studio",
        "starts_local",
        "capacity",
        "network_spots",
        "network_booked",
        "premium_booked",
        "studio_booked",
        "credit_price",
        "status",
    ]
    list_filter = ["status", "studio__market", "class_type__category"]
    search_fields = ["studio__name", "class_type__name"]
    date_hierarchy = "starts_at"
    list_select_related = ["studio__market", "class_type"]
    raw_id_fields = ["studio", "schedule", "class_type", "instructor"]
    starts_local = studio_time("starts_at", "studio.market")
    # Booking counters move only through the booking engine, under the row lock.
    readonly_fields = ["network_booked", "premium_booked"]
    # What reservations copy or depend on stays as it was made: a class is moved or cancelled
    # by cancelling it (the action, which refunds everyone), not by editing these.
    fixed_once_made = [
        "studio",
        "schedule",
        "class_type",
        "starts_at",
        "duration_minutes",
        "status",
    ]

    def get_readonly_fields(self, request, obj=None):
        readonly = super().get_readonly_fields(request, obj)
        return readonly if obj is None else [*readonly, "starts_local"]

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = ClassSessionAddForm
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:  # a one-off class, scheduled; its counters start at zero
            return ["studio", *NEW_SESSION_FIELDS]
        return super().get_fields(request, obj)

    def has_delete_permission(self, request, obj=None):
        # Cancelled, not deleted: deleting dropped its waiting members without a word, and
        # its SmartSpot release and recommendation with it (a booked class cannot go at all).
        return False

    def save_model(self, request, obj, form, change):
        """An edit goes through update_session, as the Partner Dashboard's does: under the row
        lock, refused past the room, audited, the waitlist filled. Saving the whole row would
        write back counters that bookings changed while the page was being saved."""
        if not change:  # as the API adds one: audited in the studio's log
            values = {name: form.cleaned_data[name] for name in NEW_SESSION_FIELDS}
            obj.pk = services.create_session(obj.studio, by=request.user, **values).pk
            return None
        changes = {name: form.cleaned_data[name] for name in form.changed_data}
        try:
            services.update_session(obj.studio, obj.pk, by=request.user, **changes)
        except InventoryError as exc:
            self.refuse(request, exc)


class EarningAdjustmentForm(forms.ModelForm):
    class Meta:
        model = EarningEntry
        fields = ["studio", "amount_cents", "description"]

    def clean_amount_cents(self):
        amount = self.cleaned_data["amount_cents"]
        if amount == 0:
            raise forms.ValidationError("An adjustment moves at least one cent.")
        return amount

    def clean_description(self):
        description = self.cleaned_data["description"].strip()
        if not description:
            raise forms.ValidationError("Say why the studio's earnings are adjusted.")
        return description


@admin.register(EarningEntry)
class EarningEntryAdmin(MoneyAdmin, LedgerAdmin):
    form = EarningAdjustmentForm
    money_fields = {"amount_cents": "currency"}
    list_display = ["occurred_at", "studio", "kind", "amount_cents", "currency", "reference"]
    list_filter = ["kind", "studio__market"]
    search_fields = ["studio__name", "reference", "description"]
    date_hierarchy = "occurred_at"
    list_select_related = ["studio"]
    raw_id_fields = ["studio", "session"]
    fields = ["studio", "amount_cents", "description"]

    def save_model(self, request, obj, form, change):
        # Admins add adjustments only; every other entry comes from the services that earn it.
        entry = services.adjust_earnings(
            obj.studio, amount_cents=obj.amount_cents, description=obj.description, by=request.user
        )
        obj.pk = entry.pk


@admin.register(AuditEntry)
class AuditEntryAdmin(NewestFirstAdmin, LedgerAdmin):
    list_display = ["created_at", "studio", "user", "action", "target"]
    list_filter = ["action"]
    search_fields = ["studio__name", "user__email", "target"]
    date_hierarchy = "created_at"
    list_select_related = ["studio", "user"]

    def has_add_permission(self, request):
        return False


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    list_display = ["created_at", "handler", "args", "attempts", "done_at", "available_at"]
    list_filter = ["handler", ("done_at", admin.EmptyFieldListFilter)]
    search_fields = ["handler", "last_error"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]
