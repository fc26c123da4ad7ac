"""Partner Dashboard forms of the premium app."""

from decimal import Decimal

from django import forms

from studios.forms import ChangesOnly, InCurrency, MoneyField
from studios.models import ClassType, Studio


class PremiumSettingsForm(InCurrency, ChangesOnly, forms.Form):
    enabled = forms.BooleanField(required=False, label="Sell Premium spots")
    price_cents = MoneyField(label="Premium price per class", min_value=Decimal("0.01"))
    max_spots = forms.IntegerField(
        min_value=0, max_value=200, label="Premium spots per class at most"
    )
    a_la_carte_enabled = forms.BooleanField(required=False, label="Sell single classes à la carte")
    smartspot_enabled = forms.BooleanField(
        required=False, label="SmartSpot: release likely-empty places"
    )
    smartspot_cap = forms.IntegerField(
        min_value=0, max_value=50, label="SmartSpot places per class at most"
    )


class ClassTypePriceForm(InCurrency, forms.Form):
    class_type = forms.ModelChoiceField(queryset=ClassType.objects.none())
    price_cents = MoneyField(
        label="Premium price",
        required=False,
        min_value=Decimal("0.01"),
        help_text="Leave empty to use the studio's price.",
    )

    def __init__(self, *args, studio: Studio, **kwargs):
        super().__init__(*args, currency=studio.currency, **kwargs)
        self.fields["class_type"].queryset = ClassType.objects.filter(studio=studio)
