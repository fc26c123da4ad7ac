"""Partner API of the premium app: the studio's Premium settings and class-type prices, the
places SmartSpot released, and Opportunities to accept or dismiss."""

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.mixins import ListModelMixin
from rest_framework.response import Response

from studios.api import (
    ErrorSerializer,
    PartnerAPIView,
    RejectUnknownFields,
    StrictModelSerializer,
    error_example,
)
from studios.models import ClassType

from . import selectors, services
from .models import Opportunity, PremiumPrice, SmartSpotRelease

# Money in minor units, within the Premium page's bounds (0.01 to 10,000.00).
MAX_PRICE_CENTS = 1_000_000


class ClassTypePriceSerializer(serializers.Serializer):
    class_type = serializers.IntegerField(source="class_type_id", read_only=True)
    class_type_name = serializers.CharField(source="class_type.name", read_only=True)
    price_cents = serializers.IntegerField(read_only=True)


class PremiumSettingsSerializer(RejectUnknownFields, serializers.Serializer):
    """The Premium page's settings, with its bounds; the class types' own prices are shown here
    and set at `…/premium/prices/<class_type_id>/`."""

    enabled = serializers.BooleanField(
        help_text="Sell Premium spots beyond the network allocation."
    )
    price_cents = serializers.IntegerField(
        min_value=1,
        max_value=MAX_PRICE_CENTS,
        help_text="The Premium price per class, in minor units of `currency`, paid to the "
        "studio; a class type's own price overrides it.",
    )
    max_spots = serializers.IntegerField(
        min_value=0, max_value=200, help_text="Premium spots per class at most."
    )
    a_la_carte_enabled = serializers.BooleanField(
        help_text="Sell single classes to people without a plan."
    )
    smartspot_enabled = serializers.BooleanField(
        help_text="Let the nightly SmartSpot scan release likely-empty places to the network."
    )
    smartspot_cap = serializers.IntegerField(
        min_value=0, max_value=50, help_text="SmartSpot releases per class at most."
    )
    currency = serializers.CharField(source="studio.market.currency", read_only=True)
    class_type_prices = ClassTypePriceSerializer(many=True, read_only=True)


class PriceSerializer(RejectUnknownFields, serializers.Serializer):
    price_cents = serializers.IntegerField(
        min_value=1,
        max_value=MAX_PRICE_CENTS,
        help_text="The class type's own Premium price, in minor units of the studio's currency.",
    )


PRICE_EXAMPLE = {"class_type": 12, "class_type_name": "Reformer", "price_cents": 2400}
PREMIUM_EXAMPLE = {
    "enabled": True,
    "price_cents": 1800,
    "max_spots": 3,
    "a_la_carte_enabled": True,
    "smartspot_enabled": True,
    "smartspot_cap": 2,
    "currency": "USD",
    "class_type_prices": [PRICE_EXAMPLE],
}


class PremiumSettingsView(PartnerAPIView):
    permission = "premium"
    serializer_class = PremiumSettingsSerializer

    def shown(self) -> dict:
        current = selectors.settings_for(self.studio)
        current.class_type_prices = selectors.class_type_prices(self.studio)
        return PremiumSettingsSerializer(current).data

    @extend_schema(
        summary="The studio's Premium, à-la-carte and SmartSpot settings",
        description="A studio that never saved its settings is shown the defaults it runs on.",
        examples=[OpenApiExample("Settings", value=PREMIUM_EXAMPLE, response_only=True)],
    )
    def get(self, request, studio_slug: str):
        return Response(self.shown())

    @extend_schema(
        summary="Change the studio's Premium, à-la-carte or SmartSpot settings",
        description="Send only what changes; each change is in the audit log, as from the "
        "Premium page. A new price applies to Premium spots sold from then on.",
        request=PremiumSettingsSerializer,
        responses={200: PremiumSettingsSerializer, 400: ErrorSerializer},
        examples=[
            OpenApiExample("No SmartSpot", value={"smartspot_enabled": False}, request_only=True),
            OpenApiExample(
                "Saved", value={**PREMIUM_EXAMPLE, "smartspot_enabled": False}, response_only=True
            ),
        ],
    )
    def patch(self, request, studio_slug: str):
        body = PremiumSettingsSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        if body.validated_data:
            services.update_settings(self.studio, by=request.user, **body.validated_data)
        return Response(self.shown())


class ClassTypePriceView(PartnerAPIView):
    permission = "premium"
    serializer_class = ClassTypePriceSerializer

    def get_object(self) -> ClassType:
        found = ClassType.objects.filter(
            studio=self.studio, pk=self.kwargs["class_type_id"]
        ).first()
        if found is None:
            raise NotFound("No such class type.")
        return found

    @extend_schema(
        summary="Give a class type its own Premium price",
        request=PriceSerializer,
        responses={200: ClassTypePriceSerializer, 400: ErrorSerializer, 404: ErrorSerializer},
        examples=[
            OpenApiExample("Reformer", value={"price_cents": 2400}, request_only=True),
            OpenApiExample("Saved", value=PRICE_EXAMPLE, response_only=True),
            error_example("Not this studio's", 404, "not_found", "No such class type."),
        ],
    )
    def put(self, request, studio_slug: str, class_type_id: int):
        class_type = self.get_object()
        body = PriceSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        price = body.validated_data["price_cents"]
        services.set_class_type_price(self.studio, class_type, price_cents=price, by=request.user)
        shown = PremiumPrice(studio=self.studio, class_type=class_type, price_cents=price)
        return Response(ClassTypePriceSerializer(shown).data)

    @extend_schema(
        summary="Let a class type use the studio's Premium price again",
        request=None,
        responses={204: None, 404: ErrorSerializer},
        examples=[error_example("Not this studio's", 404, "not_found", "No such class type.")],
    )
    def delete(self, request, studio_slug: str, class_type_id: int):
        services.set_class_type_price(
            self.studio, self.get_object(), price_cents=None, by=request.user
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class ReleaseSerializer(serializers.ModelSerializer):
    starts_at = serializers.DateTimeField(source="session.starts_at")
    class_name = serializers.CharField(source="session.class_type.name")
    inputs = serializers.JSONField(
        help_text="The history the forecast used: its level (the class's own slot, or wider), "
        "how many past classes, their means."
    )

    class Meta:
        model = SmartSpotRelease
        fields = [
            "id",
            "session",
            "class_name",
            "starts_at",
            "spots_released",
            "network_spots_before",
            "forecast_empty",
            "inputs",
            "model_version",
            "created_at",
            "outcome_at",
            "sold",
            "attended",
            "empty",
        ]


RELEASE_EXAMPLE = {
    "id": 88,
    "session": 1301,
    "class_name": "Mat Pilates",
    "starts_at": "2026-11-27T11:30:00Z",
    "spots_released": 2,
    "network_spots_before": 8,
    "forecast_empty": 2.6,
    "inputs": {
        "level": "slot",
        "classes": 8,
        "mean_empty": 2.6,
        "network_fill": 0.97,
        "late_cancels_per_class": 0.4,
        "no_shows_per_class": 0.3,
    },
    "model_version": "smartspot-v1",
    "created_at": "2026-11-26T03:10:04Z",
    "outcome_at": "2026-11-27T12:20:00Z",
    "sold": 2,
    "attended": 19,
    "empty": 1,
}


class SmartSpotView(ListModelMixin, PartnerAPIView):
    permission = "premium"
    serializer_class = ReleaseSerializer

    def get_queryset(self):
        return selectors.smartspot_releases(self.studio)

    @extend_schema(
        summary="The places SmartSpot released, latest class first, with what happened",
        description="`sold`, `attended` and `empty` stay null until the class has happened.",
        examples=[OpenApiExample("One", value=RELEASE_EXAMPLE, response_only=True)],
    )
    def get(self, request, studio_slug: str):
        return self.list(request)


class OpportunitySerializer(serializers.ModelSerializer):
    starts_at = serializers.DateTimeField(source="session.starts_at")
    class_name = serializers.CharField(source="session.class_type.name")
    decided_by = serializers.EmailField(source="decided_by.email", default=None, allow_null=True)
    sold = serializers.SerializerMethodField(
        help_text="In the decided list, of an accepted recommendation's spots, those the "
        "network has sold; null elsewhere."
    )

    class Meta:
        model = Opportunity
        fields = [
            "id",
            "session",
            "class_name",
            "starts_at",
            "suggested_spots",
            "expected_revenue_cents",
            "reason",
            "status",
            "scope",
            "decided_at",
            "decided_by",
            "sold",
        ]

    def get_sold(self, obj) -> int | None:
        if obj.status != "accepted":
            return None
        return getattr(obj, "sold_extra", None)


class AcceptSerializer(StrictModelSerializer):
    scope = serializers.ChoiceField(choices=["session", "schedule"], default="session")

    class Meta:
        model = Opportunity
        fields = ["scope"]


EXAMPLE = {
    "id": 31,
    "session": 1301,
    "class_name": "Mat Pilates",
    "starts_at": "2026-11-29T11:30:00Z",
    "suggested_spots": 2,
    "expected_revenue_cents": 3040,
    "reason": "Sold out 3 days ahead; 2 members waiting.",
    "status": "open",
    "scope": "",
    "decided_at": None,
    "decided_by": None,
    "sold": None,
}


class OpportunitiesView(ListModelMixin, PartnerAPIView):
    permission = "schedule"
    serializer_class = OpportunitySerializer

    @extend_schema(
        summary="Open recommendations, or the decided ones",
        parameters=[
            OpenApiParameter(
                "status",
                str,
                enum=["open", "decided"],
                description="open (default): those to decide, soonest class first; decided: "
                "those accepted or dismissed, newest decision first, with who decided, when, "
                "and for an accepted one how many of its spots the network sold.",
            )
        ],
        examples=[
            OpenApiExample(
                "One",
                value=EXAMPLE,  # one item: the schema wraps it in a page
                response_only=True,
            )
        ],
    )
    def get(self, request, studio_slug: str):
        return self.list(request)

    def get_queryset(self):
        wanted = self.request.query_params.get("status", "open")
        if wanted == "decided":
            return selectors.decided_opportunities(self.studio)
        if wanted != "open":
            raise ValidationError({"status": ['Use "open" or "decided".']})
        return selectors.open_opportunities(self.studio)


class DecideView(PartnerAPIView):
    permission = "schedule"
    serializer_class = OpportunitySerializer
    decision = ""

    def _opportunity(self, opportunity_id: int) -> Opportunity:
        opportunity = selectors.opportunity_for_studio(self.studio, opportunity_id)
        if opportunity is None:
            raise NotFound("No such recommendation.")
        return opportunity


class AcceptView(DecideView):
    @extend_schema(
        summary="Accept: add the suggested network spots (this class, or its whole schedule)",
        request=AcceptSerializer,
        responses=OpportunitySerializer,
        examples=[
            OpenApiExample("For the schedule", value={"scope": "schedule"}, request_only=True),
            OpenApiExample(
                "Accepted",
                value={**EXAMPLE, "status": "accepted", "scope": "schedule"},
                response_only=True,
            ),
        ],
    )
    def post(self, request, studio_slug: str, opportunity_id: int):
        body = AcceptSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        opportunity = services.accept_opportunity(
            self._opportunity(opportunity_id), by=request.user, scope=body.validated_data["scope"]
        )
        return Response(OpportunitySerializer(opportunity).data)


class DismissView(DecideView):
    @extend_schema(
        summary="Dismiss a recommendation",
        request=None,
        responses=OpportunitySerializer,
        examples=[
            OpenApiExample(
                "Dismissed", value={**EXAMPLE, "status": "dismissed"}, response_only=True
            )
        ],
    )
    def post(self, request, studio_slug: str, opportunity_id: int):
        return Response(
            OpportunitySerializer(
                services.dismiss_opportunity(self._opportunity(opportunity_id), by=request.user)
            ).data
        )
