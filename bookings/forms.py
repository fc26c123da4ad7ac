"""Forms of the member website: the search filters and the booking confirmation."""

from django import forms

from studios.models import Category

from .models import ReservationKind
from .selectors import TIMES_OF_DAY, SearchFilters, pays_money


def _bound(label: str, *, most: int) -> forms.IntegerField:
    """One end of a search range ("Min credits", "Max price"): a whole number from 1."""
    return forms.IntegerField(
        required=False,
        min_value=1,
        max_value=most,
        label=label,
        widget=forms.NumberInput(
            attrs={"aria-label": label, "placeholder": label.split()[0].lower()}
        ),
    )


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
    min_credits = _bound("Min credits", most=200)
    max_credits = _bound("Max credits", most=200)
    # Without a plan, a member pays for a class in money (à la carte), and their rows show
    # that price: they filter by it, in whole units of the market's currency.
    min_price = _bound("Min price", most=100_000)
    max_price = _bound("Max price", most=100_000)
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
        for low, high in (("min_credits", "max_credits"), ("min_price", "max_price")):
            least, most = cleaned.get(low), cleaned.get(high)
            if least is not None and most is not None and least > most:
                self.add_error(high, "The maximum must not be below the minimum.")
        return cleaned

    def filters(self, *, member=None) -> SearchFilters:
        """The valid filters; an invalid field falls back to its default (and shows its error).
        "My studios" applies to a member only; a visitor's search ignores it. The range is
        in what the rows show `member`: money for a member without an active plan (the price
        range; the credit range is ignored), credits for everyone else (the reverse)."""
        data = self.cleaned_data if self.is_bound else {}
        errors = self.errors if self.is_bound else {}

        def value(name, default=None):
            return default if name in errors else data.get(name) or default

        if pays_money(member):
            low, high = value("min_price"), value("max_price")
            price_range = {
                "min_money_cents": low * 100 if low else None,
                "max_money_cents": high * 100 if high and "min_price" not in errors else None,
            }
        else:
            price_range = {
                "min_credits": value("min_credits"),
                "max_credits": value("max_credits") if "min_credits" not in errors else None,
            }
        return SearchFilters(
            day=value("day", self.days[0]),
            time_of_day=value("time", ""),
            category=value("category", ""),
            studio=value("studio", ""),
            q=value("q", ""),
            saved_by=member.pk if member is not None and value("mine") else None,
            **price_range,
        )


class BookForm(forms.Form):
    offer = forms.ChoiceField(choices=ReservationKind.choices)
    expected_credits = forms.IntegerField(min_value=0, max_value=10_000)
    expected_money_cents = forms.IntegerField(min_value=0, max_value=10_000_000, required=False)
    idempotency_key = forms.CharField(max_length=80, required=False)
    spotlight = forms.IntegerField(required=False, min_value=1, max_value=2**31)
