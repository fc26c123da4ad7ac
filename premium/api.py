"""Partner API of the premium app: Opportunities to accept or dismiss."""

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.mixins import ListModelMixin
from rest_framework.response import Response

from studios.api import PartnerAPIView, StrictModelSerializer

from . import selectors, services
from .models import Opportunity


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
