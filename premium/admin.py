"""Django admin for Premium settings and class-type prices."""

from django.contrib import admin

from .models import PremiumPrice, PremiumSettings


@admin.register(PremiumSettings)
class PremiumSettingsAdmin(admin.ModelAdmin):
    list_display = [
        "studio",
        "enabled",
        "price_cents",
        "max_spots",
        "a_la_carte_enabled",
        "updated_at",
    ]
    list_filter = ["enabled", "a_la_carte_enabled", "studio__market"]
    search_fields = ["studio__name"]
    list_select_related = ["studio"]
    raw_id_fields = ["studio"]


@admin.register(PremiumPrice)
class PremiumPriceAdmin(admin.ModelAdmin):
    list_display = ["studio", "class_type", "price_cents"]
    search_fields = ["studio__name", "class_type__name"]
    list_select_related = ["studio", "class_type"]
    raw_id_fields = ["studio", "class_type"]
