"""Partner API of the marketing app: Spotlight campaigns, bought and steered as on the
Spotlight page (owners only)."""

from collections.abc import Callable

from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.mixins import ListModelMixin
from rest_framework.response import Response

from studios.api import ErrorSerializer, PartnerAPIView, RejectUnknownFields, error_example
from studios.models import Category

from . import selectors, services
from .models import CampaignStatus, SpotlightCampaign
from .selectors import CampaignFigures

MAX_FEE_CENTS = 1_000_000  # 10,000.00 a day, the page's bound


class CampaignSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="campaign.pk")
    starts_on = serializers.DateField(source="campaign.starts_on")
    ends_on = serializers.DateField(source="campaign.ends_on")
    categories = serializers.ListField(
        source="campaign.categories",
        child=serializers.CharField(),
        help_text="The categories whose searches show the studio; empty: every search.",
    )
    daily_fee_cents = serializers.IntegerField(source="campaign.daily_fee_cents")
    currency = serializers.CharField(source="campaign.market.currency")
    status = serializers.ChoiceField(source="campaign.status", choices=CampaignStatus.choices)
    impressions = serializers.IntegerField()
    clicks = serializers.IntegerField()
    bookings = serializers.IntegerField()
    cost_cents = serializers.IntegerField(help_text="What the days so far were charged.")
    cost_per_booking_cents = serializers.IntegerField(allow_null=True)


class CampaignPurchaseSerializer(RejectUnknownFields, serializers.Serializer):
    starts_on = serializers.DateField(help_text="The first day, in the studio's time.")
    ends_on = serializers.DateField(help_text="The last day, included.")
    daily_fee_cents = serializers.IntegerField(
        min_value=1,
        max_value=MAX_FEE_CENTS,
        help_text="At least the market's price list for the categories, in minor units.",
    )
    categories = serializers.ListField(
        child=serializers.ChoiceField(choices=Category.choices),
        required=False,
        default=list,
        max_length=len(Category.choices),
        help_text="Leave out (or empty) for the whole market.",
    )


CAMPAIGN_EXAMPLE = {
    "id": 7,
    "starts_on": "2026-12-01",
    "ends_on": "2026-12-07",
    "categories": ["yoga"],
    "daily_fee_cents": 1500,
    "currency": "USD",
    "status": "active",
    "impressions": 1840,
    "clicks": 96,
    "bookings": 11,
    "cost_cents": 4500,
    "cost_per_booking_cents": 409,
}


class SpotlightView(ListModelMixin, PartnerAPIView):
    permission = "spotlight"
    serializer_class = CampaignSerializer

    def get_queryset(self):
        return selectors.campaigns_for(self.studio)

    @extend_schema(
        summary="The studio's Spotlight campaigns, newest first, with their figures",
        examples=[OpenApiExample("One", value=CAMPAIGN_EXAMPLE, response_only=True)],
    )
    def get(self, request, studio_slug: str):
        return self.list(request)

    @extend_schema(
        summary="Buy days of Spotlight placement",
        description="Nothing is charged now; each day is charged as it begins. A campaign "
        "starts tomorrow at the earliest, and may not overlap a running or paused one of "
        "the studio for the same categories (422).",
        request=CampaignPurchaseSerializer,
        responses={201: CampaignSerializer, 400: ErrorSerializer, 422: ErrorSerializer},
        examples=[
            OpenApiExample(
                "A week of yoga",
                value={
                    "starts_on": "2026-12-01",
                    "ends_on": "2026-12-07",
                    "daily_fee_cents": 1500,
                    "categories": ["yoga"],
                },
                request_only=True,
            ),
            OpenApiExample(
                "Bought",
                value={
                    **CAMPAIGN_EXAMPLE,
                    **dict.fromkeys(["impressions", "clicks", "bookings", "cost_cents"], 0),
                    "cost_per_booking_cents": None,
                },
                response_only=True,
                status_codes=["201"],
            ),
            error_example(
                "Below the price list",
                422,
                "spotlight_error",
                "The daily fee must be at least $15.00 (the New York price list).",
            ),
        ],
    )
    def post(self, request, studio_slug: str):
        body = CampaignPurchaseSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        values = body.validated_data
        campaign = services.buy(
            self.studio,
            by=request.user,
            starts_on=values["starts_on"],
            ends_on=values["ends_on"],
            daily_fee_cents=values["daily_fee_cents"],
            categories=sorted(set(values["categories"])),
        )
        return Response(
            CampaignSerializer(CampaignFigures(campaign, 0, 0, 0, 0)).data,
            status=status.HTTP_201_CREATED,
        )


class SteerView(PartnerAPIView):
    """Pause, resume or end a campaign (`steer`), as the page's buttons do."""

    permission = "spotlight"
    serializer_class = CampaignSerializer
    steer: Callable[[SpotlightCampaign], SpotlightCampaign]  # pause, resume or end

    def post(self, request, studio_slug: str, campaign_id: int):
        campaign = selectors.campaign_for_studio(self.studio, campaign_id)
        if campaign is None:
            raise NotFound("No such campaign.")
        self.steer(campaign)
        (figures,) = selectors.campaigns_for(self.studio, pk=campaign.pk)
        return Response(CampaignSerializer(figures).data)


def _steer_schema(summary: str, status_after: str, refused: str):
    return extend_schema_view(
        post=extend_schema(
            summary=summary,
            request=None,
            responses={200: CampaignSerializer, 422: ErrorSerializer},
            examples=[
                OpenApiExample("Done", value={**CAMPAIGN_EXAMPLE, "status": status_after}),
                error_example("Not now", 422, "spotlight_error", refused),
            ],
        )
    )


@_steer_schema(
    "Pause a running campaign: days while it is paused are not charged",
    "paused",
    "This campaign is ended; it cannot be paused.",
)
class PauseView(SteerView):
    steer = staticmethod(services.pause)


@_steer_schema(
    "Resume a paused campaign", "active", "This campaign is active; it cannot be resumed."
)
class ResumeView(SteerView):
    steer = staticmethod(services.resume)


@_steer_schema(
    "End a campaign now: no later day is charged (a day already begun stays charged)",
    "ended",
    "This campaign is ended; it cannot be ended.",
)
class EndView(SteerView):
    steer = staticmethod(services.end)
