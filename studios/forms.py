"""Forms of the Partner Dashboard for schedules, classes and studio settings."""

from decimal import Decimal

from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Q

from .models import Category, ClassType, Instructor, StaffRole, Studio, Weekday


class LoginEmailField(forms.EmailField):
    """An e-mail address that is also a log-in name: no longer than User.username holds (150),
    where a plain EmailField would take 320 characters and the database would refuse them."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", get_user_model()._meta.get_field("username").max_length)
        kwargs.setdefault("widget", forms.EmailInput(attrs={"autocomplete": "email"}))
        super().__init__(**kwargs)


class MoneyField(forms.DecimalField):
    """Money typed in major units (15.00), cleaned to integer minor units (1500)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", Decimal("0"))
        kwargs.setdefault("max_value", Decimal("10000"))
        super().__init__(max_digits=8, decimal_places=2, **kwargs)

    def prepare_value(self, value):
        if isinstance(value, int):
            return f"{value / 100:.2f}"
        return value

    def clean(self, value):
        amount = super().clean(value)
        return None if amount is None else int(amount * 100)

    def has_changed(self, initial, data):
        # A model's value is in minor units (4749); the one posted, in major units (47.49).
        if isinstance(initial, int):
            initial = Decimal(initial) / 100
        return super().has_changed(initial, data)


class InCurrency:
    """A form whose money fields name their currency in the label ("Daily fee (GBP)"), so that
    a studio never wonders what 24.00 is in. Pass the studio's `currency`."""

    def __init__(self, *args, currency: str, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if isinstance(field, MoneyField):
                field.label = f"{field.label} ({currency})"


class ChangesOnly:
    """A form whose fields also send the values the page showed (Django's show_hidden_initial),
    so that `changes()` holds only what this person changed. Saving just that never undoes
    what someone else (or the studio's desk software) changed since the page was shown."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.show_hidden_initial = True

    def changes(self) -> dict:
        """What changed; a field posted without the value shown (a client other than the
        page) counts as changed, so that it is saved as sent."""
        return {
            name: value
            for name, value in self.cleaned_data.items()
            if name in self.changed_data or self[name].html_initial_name not in self.data
        }


def offered(model, studio: Studio, *, keep=None):
    """The studio's class types or instructors to choose from: those not retired, and the one
    already chosen (`keep`, an instance or a key), so an edit never loses it."""
    keep = getattr(keep, "pk", keep)
    return model.objects.filter(studio=studio).filter(Q(is_active=True) | Q(pk=keep))


class ScheduleForm(ChangesOnly, forms.Form):
    class_type = forms.ModelChoiceField(queryset=ClassType.objects.none())
    instructor = forms.ModelChoiceField(queryset=Instructor.objects.none(), required=False)
    weekdays = forms.TypedMultipleChoiceField(
        choices=Weekday.choices, coerce=int, widget=forms.CheckboxSelectMultiple, label="Days"
    )
    local_start_time = forms.TimeField(
        label="Start time (studio time)", widget=forms.TimeInput(attrs={"type": "time"})
    )
    duration_minutes = forms.IntegerField(min_value=5, max_value=600, label="Minutes")
    capacity = forms.IntegerField(min_value=1, max_value=1000, label="Room capacity")
    network_spots = forms.IntegerField(min_value=0, max_value=1000, label="Network spots")
    credit_price = forms.IntegerField(min_value=1, max_value=200, label="Credit price")
    starts_on = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    ends_on = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, studio: Studio, **kwargs):
        super().__init__(*args, **kwargs)
        for name, model in (("class_type", ClassType), ("instructor", Instructor)):
            self.fields[name].queryset = offered(model, studio, keep=self.initial.get(name))

    def clean(self):
        cleaned = super().clean()
        capacity, network = cleaned.get("capacity"), cleaned.get("network_spots")
        if capacity is not None and network is not None and network > capacity:
            self.add_error("network_spots", "Network spots cannot exceed the room's capacity.")
        starts, ends = cleaned.get("starts_on"), cleaned.get("ends_on")
        if starts and ends and ends < starts:
            self.add_error("ends_on", "The end date must not be before the start date.")
        return cleaned


class EndScheduleForm(forms.Form):
    ends_on = forms.DateField(label="Last day", widget=forms.DateInput(attrs={"type": "date"}))


class SessionForm(ChangesOnly, forms.Form):
    """One class's numbers and instructor."""

    capacity = forms.IntegerField(min_value=0, max_value=1000, label="Room capacity")
    network_spots = forms.IntegerField(min_value=0, max_value=1000, label="Network spots")
    studio_booked = forms.IntegerField(min_value=0, max_value=1000, label="Booked by the studio")
    instructor = forms.ModelChoiceField(queryset=Instructor.objects.none(), required=False)

    def __init__(self, *args, studio: Studio, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["instructor"].queryset = offered(
            Instructor, studio, keep=self.initial.get("instructor")
        )


class SettingsForm(InCurrency, ChangesOnly, forms.Form):
    monthly_visit_limit = forms.IntegerField(
        min_value=1, max_value=31, help_text="Standard visits per member per billing cycle."
    )
    cancellation_window_hours = forms.IntegerField(
        min_value=0,
        max_value=168,
        help_text="Free cancellation up to this many hours before class.",
    )
    booking_cutoff_minutes = forms.IntegerField(
        min_value=0, max_value=1440, help_text="Booking closes this many minutes before class."
    )
    payout_rate_cents = MoneyField(label="Standard payout per visit", min_value=Decimal("0.01"))


class ProfileForm(ChangesOnly, forms.Form):
    address = forms.CharField(max_length=255, required=False)
    description = forms.CharField(
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="What members read on your studio's page.",
    )


class ClassTypeForm(ChangesOnly, forms.Form):
    name = forms.CharField(max_length=120)
    category = forms.ChoiceField(choices=Category.choices)
    duration_minutes = forms.IntegerField(min_value=5, max_value=600, label="Minutes")
    description = forms.CharField(
        required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )


class InstructorForm(ChangesOnly, forms.Form):
    name = forms.CharField(max_length=120)
    bio = forms.CharField(required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))


class StaffForm(forms.Form):
    email = LoginEmailField(
        label="E-mail", help_text="Someone without an account gets an e-mail to set a password."
    )
    # The least the new person can do; owner is a choice made on purpose.
    role = forms.ChoiceField(choices=StaffRole.choices, initial=StaffRole.FRONT_DESK)


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=StaffRole.choices)


def errors_into(form: forms.Form, exc) -> None:
    """Put an InventoryError's messages on the form fields they belong to."""
    if exc.fields:
        for name, message in exc.fields.items():
            form.add_error(name if name in form.fields else None, message)
    else:
        form.add_error(None, exc.message)
