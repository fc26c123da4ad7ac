"""Partner Dashboard form for buying a Spotlight campaign."""

from decimal import Decimal

from django import forms

from studios.forms import InCurrency, MoneyField
from studios.models import Category


class CampaignForm(InCurrency, forms.Form):
    starts_on = forms.DateField(label="First day", widget=forms.DateInput(attrs={"type": "date"}))
    ends_on = forms.DateField(label="Last day", widget=forms.DateInput(attrs={"type": "date"}))
    daily_fee_cents = MoneyField(label="Daily fee", min_value=Decimal("0.01"))
    categories = forms.MultipleChoiceField(
        choices=Category.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Leave all unticked for the whole market.",
    )
