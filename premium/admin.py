"""Django admin for Premium settings and class-type prices."""

from django.contrib import admin

from studios.admin import FixedOnceMade, MoneyAdmin, SavedByServices, studio_time

from . import services
from .models import Opportunity, PremiumPrice, PremiumSettings, ScanChunk, ScanRun, SmartSpotRelease


@admin.register(PremiumSettings)
class PremiumSettingsAdmin(MoneyAdmin, SavedByServices, FixedOnceMade):
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
    list_select_related = ["studio__market"]
    money_fields = {"price_cents": "studio.market.currency"}
    raw_id_fields = ["studio"]
    fixed_once_made = ["studio"]

    def has_delete_permission(self, request, obj=None):
        # A studio without settings runs on the defaults: deleting its row switched Premium,
        # à la carte and SmartSpot back on behind the studio's back.
        return False

    def save_model(self, request, obj, form, change):
        """As the Partner Dashboard saves: audited in the studio's log, which its owner reads."""
        values = {name: form.cleaned_data[name] for name in services.FIELDS}
        obj.pk = services.update_settings(obj.studio, by=request.user, **values).pk


@admin.register(PremiumPrice)
class PremiumPriceAdmin(MoneyAdmin, SavedByServices, FixedOnceMade):
    list_display = ["studio", "class_type", "price_cents"]
    search_fields = ["studio__name", "class_type__name"]
    list_select_related = ["studio__market", "class_type"]
    money_fields = {"price_cents": "studio.market.currency"}
    raw_id_fields = ["studio", "class_type"]
    fixed_once_made = ["studio", "class_type"]

    def save_model(self, request, obj, form, change):
        services.set_class_type_price(
            obj.studio, obj.class_type, price_cents=obj.price_cents, by=request.user
        )
        obj.pk = PremiumPrice.objects.get(studio=obj.studio, class_type=obj.class_type).pk

    def delete_model(self, request, obj):
        """The class type goes back to the studio's price, audited."""
        services.set_class_type_price(obj.studio, obj.class_type, price_cents=None, by=request.user)

    def delete_queryset(self, request, queryset):
        for price in queryset.select_related("studio", "class_type"):
            self.delete_model(request, price)


class ReadOnlyAdmin(MoneyAdmin):
    """Written by the scans; admins read them."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class ScanChunkInline(admin.TabularInline):
    model = ScanChunk
    extra = 0
    fields = ["market", "studio_ids", "done_at", "result"]
    readonly_fields = fields
    can_delete = False


@admin.register(ScanRun)
class ScanRunAdmin(ReadOnlyAdmin):
    list_display = ["started_at", "kind", "market", "as_of", "finished_at"]
    list_filter = ["kind", ("finished_at", admin.EmptyFieldListFilter)]
    inlines = [ScanChunkInline]


@admin.register(ScanChunk)
class ScanChunkAdmin(ReadOnlyAdmin):
    list_display = ["pk", "run", "market", "done_at"]
    list_filter = ["run__kind", ("done_at", admin.EmptyFieldListFilter)]
    list_select_related = ["run", "market"]


@admin.register(SmartSpotRelease)
class SmartSpotReleaseAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "studio",
        "session",
        "starts_local",
        "spots_released",
        "forecast_empty",
        "sold",
        "empty",
    ]
    list_filter = ["model_version", "studio__market"]
    search_fields = ["studio__name"]
    list_select_related = ["studio__market", "session__class_type"]
    starts_local = studio_time("session.starts_at", "studio.market")


@admin.register(Opportunity)
class OpportunityAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "studio",
        "session",
        "starts_local",
        "suggested_spots",
        "expected_revenue_cents",
        "status",
    ]
    list_filter = ["status", "studio__market"]
    search_fields = ["studio__name", "reason"]
    list_select_related = ["studio__market", "session__class_type"]
    money_fields = {"expected_revenue_cents": "studio.market.currency"}
    starts_local = studio_time("session.starts_at", "studio.market")
