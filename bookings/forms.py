"""Forms of the member website: the search filters and the booking confirmation."""

from django import forms

from studios.models import Category

from .models import ReservationKind
from .selectors import TIMES_OF_DAY, SearchFilters


class SearchForm(forms.Form):
    day = forms.DateField(required=False, widget=forms.HiddenInput)
    time = forms.ChoiceField(
        required=False,
        choices=[("", "Any time")] + [(k, k.capitalize()) for k in TIMES_OF_DAY],
        widget=forms.Select(attrs={"aria-label": "Time of day"}),
    )
    category = forms.ChoiceField(
        required=False,
        choices=[("", "All categories"), *Category.choices],
        widget=forms.Select(attrs={"aria-label": "Category"}),
    )
    studio = forms.SlugField(required=False, widget=forms.HiddenInput)
    min_credits = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=200,
        label="Min credits",
        widget=forms.NumberInput(attrs={"aria-label": "Min credits", "placeholder": "min"}),
    )
    max_credits = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=200,
        label="Max credits",
        widget=forms.NumberInput(attrs={"aria-label": "Max credits", "placeholder": "max"}),
    )
    mine = forms.BooleanField(required=False, label="My studios")
    q = forms.CharField(
        required=False,
        max_length=100,
        label="Search",
        strip=True,
        widget=forms.SearchInput(
            attrs={"aria-label": "Search", "placeholder": "Class, studio or instructor"}
        ),
    )

    def __init__(self, *args, days: list, **kwargs):
        super().__init__(*args, **kwargs)
        self.days = days

    def clean_day(self):
        day = self.cleaned_data.get("day")
        if day is not None and day not in self.days:
            raise forms.ValidationError("Pick a day within the booking window.")
        return day

    def clean(self):
        cleaned = super().clean()
        low, high = cleaned.get("min_credits"), cleaned.get("max_credits")
        if low is not None and high is not None and low > high:
            self.add_error("max_credits", "The maximum must not be below the minimum.")
        return cleaned

    def filters(self, *, member=None) -> SearchFilters:
        """The valid filters; an invalid field falls back to its default (and shows its error).
        "My studios" applies to a member only; a visitor's search ignores it."""
        data = self.cleaned_data if self.is_bound else {}
        errors = self.errors if self.is_bound else {}

        def value(name, default=None):
            return default if name in errors else data.get(name) or default

        return SearchFilters(
            day=value("day", self.days[0]),
            time_of_day=value("time", ""),
            category=value("category", ""),
            studio=value("studio", ""),
            min_credits=value("min_credits"),
            max_credits=value("max_credits") if "min_credits" not in errors else None,
            q=value("q", ""),
            saved_by=member.pk if member is not None and value("mine") else None,
        )


class BookForm(forms.Form):
    offer = forms.ChoiceField(choices=ReservationKind.choices)
    expected_credits = forms.IntegerField(min_value=0, max_value=10_000)
    expected_money_cents = forms.IntegerField(min_value=0, max_value=10_000_000, required=False)
    idempotency_key = forms.CharField(max_length=80, required=False)
    spotlight = forms.IntegerField(required=False, min_value=1, max_value=2**31)
