"""Forms of the member website: sign-up, log-in, plan choice, details, deletion."""

from django import forms
from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.forms import AuthenticationForm

from studios.forms import LoginEmailField
from studios.models import Market

from .models import Plan


class NameForm(forms.Form):
    """The name studios see on their class lists; optional, as an address stands in for it."""

    first_name = forms.CharField(
        max_length=150, required=False, widget=forms.TextInput(attrs={"autocomplete": "given-name"})
    )
    last_name = forms.CharField(
        max_length=150,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "family-name"}),
        help_text="Studios see your name on their class lists, to check you in, and on their team.",
    )


class SignUpForm(NameForm):
    email = LoginEmailField()
    password = forms.CharField(
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )
    market = forms.ModelChoiceField(
        queryset=Market.objects.order_by("name"),
        label="Your city",
        empty_label="Choose your city",
        help_text="Plans, prices and classes are your city's; you can book anywhere.",
    )

    def __init__(self, *args, city: str | None = None, **kwargs):
        """city: the slug of the city the visitor was browsing, if any, chosen for them. With
        one city there is nothing to choose; with several, nobody is put in one unasked."""
        super().__init__(*args, **kwargs)
        markets = self.fields["market"].queryset
        chosen = markets.filter(slug=city).first() if city else None
        if chosen is None and markets.count() == 1:
            chosen = markets.first()
        if chosen is not None:
            self.fields["market"].initial = chosen.pk

    def clean(self):
        cleaned = super().clean()
        password, email = cleaned.get("password"), cleaned.get("email")
        if password:
            probe = get_user_model()(
                username=email or "",
                email=email or "",
                first_name=cleaned.get("first_name", ""),
                last_name=cleaned.get("last_name", ""),
            )
            try:
                password_validation.validate_password(password, probe)
            except forms.ValidationError as exc:
                self.add_error("password", exc)
        return cleaned


class EmailAuthenticationForm(AuthenticationForm):
    username = forms.EmailField(
        label="E-mail", widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"})
    )


class PlanChoiceForm(forms.Form):
    plan = forms.ModelChoiceField(
        queryset=Plan.objects.none(), widget=forms.RadioSelect, empty_label=None
    )

    def __init__(self, *args, market: Market, **kwargs):
        super().__init__(*args, **kwargs)
        # Any plan id may be posted; only the member's own market's active plans validate.
        self.fields["plan"].queryset = Plan.objects.filter(
            market=market, is_active=True
        ).select_related("market")
        self.fields["plan"].error_messages["invalid_choice"] = (
            "That plan is not offered in your city."
        )


class DeleteAccountForm(forms.Form):
    """Deleting an account cannot be undone: the member says so with their password."""

    password = forms.CharField(
        strip=False,
        label="Your password",
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_password(self):
        password = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise forms.ValidationError("That is not your password.")
        return password


class DetailsForm(NameForm):
    """An account's name and address (a member's or staff's); a new address needs the password."""

    email = LoginEmailField(label="E-mail")
    password = forms.CharField(
        label="Your password",
        strip=False,
        required=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        help_text="Needed only to change the e-mail address.",
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean(self):
        cleaned = super().clean()
        email = cleaned.get("email")
        self.changes_address = bool(email) and email.strip().lower() != self.user.email.lower()
        if self.changes_address and not self.user.check_password(cleaned.get("password") or ""):
            self.add_error("password", "Enter your password to change the e-mail address.")
        return cleaned
