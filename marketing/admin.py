"""Django admin for Spotlight price lists, campaigns and their daily figures."""

from django import forms
from django.contrib import admin

from studios.admin import MoneyAdmin
from studios.templatetags.money import format_money

from .models import SpotlightCampaign, SpotlightDay, SpotlightPrice


@admin.register(SpotlightPrice)
class SpotlightPriceAdmin(MoneyAdmin):
    list_display = ["market", "category", "daily_fee_cents"]
    list_filter = ["market"]
    list_select_related = ["market"]
    money_fields = {"daily_fee_cents": "market.currency"}


class CampaignAdminForm(forms.ModelForm):
    class Meta:
        model = SpotlightCampaign
        fields = [
            "studio",
            "market",
            "categories",
            "starts_on",
            "ends_on",
            "daily_fee_cents",
            "status",
        ]

    def clean(self):
        cleaned = super().clean()
        studio, market = cleaned.get("studio"), cleaned.get("market")
        if studio and market and studio.market_id != market.pk:
            self.add_error("market", f"{studio} is in {studio.market}, not {market}.")
        starts, ends = cleaned.get("starts_on"), cleaned.get("ends_on")
        if starts and ends and ends < starts:
            self.add_error("ends_on", "The last day must not be before the first.")
        return cleaned


class DayInline(admin.TabularInline):
    model = SpotlightDay
    extra = 0
    fields = readonly_fields = ["day", "impressions", "clicks", "bookings", "fee"]
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):  # each row's title names its campaign's studio
        return super().get_queryset(request).select_related("campaign__studio", "campaign__market")

    @admin.display(description="Fee")
    def fee(self, day):
        return format_money(day.fee_cents, day.campaign.market.currency)


@admin.register(SpotlightCampaign)
class SpotlightCampaignAdmin(MoneyAdmin):
    form = CampaignAdminForm
    list_display = ["studio", "market", "starts_on", "ends_on", "daily_fee_cents", "status"]
    list_filter = ["status", "market"]
    search_fields = ["studio__name"]
    list_select_related = ["studio", "market"]
    raw_id_fields = ["studio"]
    money_fields = {"daily_fee_cents": "market.currency"}
    inlines = [DayInline]


@admin.register(SpotlightDay)
class SpotlightDayAdmin(MoneyAdmin):
    list_display = ["campaign", "day", "impressions", "clicks", "bookings", "fee_cents"]
    list_select_related = ["campaign__studio", "campaign__market"]
    money_fields = {"fee_cents": "campaign.market.currency"}
    date_hierarchy = "day"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
