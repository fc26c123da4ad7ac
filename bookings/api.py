"""Member API of the bookings app: search, class details with offers, reservations, waitlist.

Views parse and call the same selectors and services as the website; no rule is written twice.
"""

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.mixins import ListModelMixin
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from members.api import member_of, member_ref_of
from members.selectors import has_saved, member_for_user
from studios.api import (
    ErrorSerializer,
    FlatOutputSerializer,
    PartnerAPIView,
    RejectUnknownFields,
    error_example,
)
from studios.models import Market
from studios.selectors import session_for_studio

from . import pricing, selectors, services, webhooks
from .errors import IdempotencyConflict, SessionNotFound, WaitlistError
from .forms import SearchForm
from .models import (
    PremiumReason,
    Reservation,
    ReservationKind,
    ReservationStatus,
    Source,
    WebhookSubscription,
)
from .offers import collect_offers


class StrictSerializer(RejectUnknownFields, serializers.Serializer):
    pass


class SessionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    studio = serializers.CharField(source="studio.name")
    studio_slug = serializers.CharField(source="studio.slug")
    class_name = serializers.CharField(source="class_type.name")
    category = serializers.CharField(source="class_type.category")
    instructor = serializers.CharField(source="instructor.name", allow_null=True, default=None)
    starts_at = serializers.DateTimeField()
    duration_minutes = serializers.IntegerField()
    credit_price = serializers.IntegerField()
    spots_left = serializers.IntegerField(
        source="standard_left", help_text="Standard spots left on the network."
    )
    premium_left = serializers.SerializerMethodField(
        help_text="Premium spots the room has left beyond the network's (0 where the studio "
        "sells no Premium)."
    )
    premium_credits = serializers.SerializerMethodField(
        help_text="What a Premium spot in the class costs in credits (null where the studio "
        "sells no Premium). Where availability is 'Premium', the price a member can book at."
    )
    a_la_carte_cents = serializers.SerializerMethodField(
        help_text="What the class costs someone without a plan, in minor units of `currency` "
        "(null where the studio sells no single classes). It is bought from the Premium spots: "
        "`premium_left` says how many are left."
    )
    currency = serializers.CharField(source="studio.market.currency")
    availability = serializers.SerializerMethodField(
        help_text="What the search shows a member with a plan: 'N left', 'Premium' (only "
        "Premium spots are left), 'Waitlist' or 'Sold out'."
    )

    def get_premium_left(self, session) -> int:
        return selectors.premium_left(session)

    def get_premium_credits(self, session) -> int | None:
        return session.premium_credits if getattr(session, "premium_cap", 0) else None

    def get_a_la_carte_cents(self, session) -> int | None:
        return getattr(session, "a_la_carte_cents", None)

    def get_availability(self, session) -> str:
        return selectors.spots_label(session)


class OfferSerializer(serializers.Serializer):
    kind = serializers.CharField()
    available = serializers.BooleanField()
    credits = serializers.IntegerField()
    money_cents = serializers.IntegerField()
    currency = serializers.CharField()
    label = serializers.CharField()
    explanation = serializers.CharField()
    reason = serializers.CharField()


class SessionDetailSerializer(SessionSerializer):
    offers = OfferSerializer(many=True)
    price_explanation = serializers.ListField(child=serializers.CharField())
    can_join_waitlist = serializers.BooleanField(
        help_text="Whether you may join the class's waitlist now: its network spots are taken "
        "and nothing else (the studio's monthly limit, your credits) stops you booking one; "
        "false without your credentials, and once you wait or are booked."
    )


SESSION_EXAMPLE = {
    "id": 1301,
    "studio": "Core Studio Williamsburg",
    "studio_slug": "new-york-007",
    "class_name": "Mat Pilates",
    "category": "pilates",
    "instructor": "Gus Patel",
    "starts_at": "2026-11-27T11:30:00Z",
    "duration_minutes": 45,
    "credit_price": 11,
    "spots_left": 7,
    "premium_left": 0,
    "premium_credits": 15,
    "a_la_carte_cents": 2800,
    "currency": "USD",
    "availability": "7 left",
}


class MarketSerializer(serializers.Serializer):
    slug = serializers.SlugField()
    name = serializers.CharField()
    currency = serializers.CharField()
    timezone = serializers.CharField(help_text="Class times are shown in it.")


class MarketsView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        summary="The cities classes can be booked in",
        description="Search one with `GET /api/v1/sessions/?market=<slug>`.",
        responses=MarketSerializer(many=True),  # a plain list: a handful of cities
        examples=[
            OpenApiExample(
                "A city",
                value={
                    "slug": "new-york",
                    "name": "New York",
                    "currency": "USD",
                    "timezone": "America/New_York",
                },
                response_only=True,
            )
        ],
    )
    def get(self, request):
        return Response(MarketSerializer(Market.objects.order_by("name"), many=True).data)


class StudioSerializer(serializers.Serializer):
    slug = serializers.SlugField()
    name = serializers.CharField()
    market = serializers.CharField(source="market.slug")
    address = serializers.CharField()
    latitude = serializers.FloatField(allow_null=True)
    longitude = serializers.FloatField(allow_null=True)
    description = serializers.CharField()
    categories = serializers.ListField(child=serializers.CharField())
    monthly_visit_limit = serializers.IntegerField(
        help_text="Standard visits a member may book here in one cycle of their plan; beyond "
        "them, Premium where the studio sells it."
    )
    cancellation_window_hours = serializers.IntegerField(
        help_text="Cancelling is free up to this many hours before a class."
    )
    saved = serializers.SerializerMethodField()

    def get_saved(self, studio) -> bool | None:
        """Whether the studio is in my studios (null without a member's credentials)."""
        return self.context["saved"]


class StudioView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        summary="A studio: where it is, what it teaches, its terms",
        description=(
            "Its classes: `GET /api/v1/sessions/?studio=<slug>&day=…`. A member saves it with "
            "`PUT /api/v1/me/studios/<slug>/`."
        ),
        responses={200: StudioSerializer, 404: ErrorSerializer},
        examples=[
            OpenApiExample(
                "A studio",
                value={
                    "slug": "flow-house",
                    "name": "Flow House",
                    "market": "new-york",
                    "address": "12 Spring St, New York",
                    "latitude": 40.7223,
                    "longitude": -73.9977,
                    "description": "Vinyasa and yin in a quiet loft.",
                    "categories": ["yoga", "meditation"],
                    "monthly_visit_limit": 3,
                    "cancellation_window_hours": 12,
                    "saved": False,
                },
                response_only=True,
            ),
            error_example("No such studio", 404, "not_found", "That studio does not exist."),
        ],
    )
    def get(self, request, slug: str):
        studio = selectors.studio_by_slug(slug)
        if studio is None:
            raise NotFound("That studio does not exist.")
        member = member_for_user(request.user)
        saved = None if member is None else has_saved(member, studio)
        return Response(StudioSerializer(studio, context={"saved": saved}).data)


class SessionListView(generics.ListAPIView):
    serializer_class = SessionSerializer
    permission_classes = [AllowAny]

    @extend_schema(
        summary="Search classes of one day in a market",
        parameters=[
            OpenApiParameter("market", str, description="Market slug; default: your home market."),
            OpenApiParameter(
                "day",
                OpenApiTypes.DATE,
                description="YYYY-MM-DD within the booking window; default today.",
            ),
            OpenApiParameter("time", str, enum=["morning", "afternoon", "evening"]),
            OpenApiParameter("category", str),
            OpenApiParameter("studio", str, description="Studio slug."),
            OpenApiParameter(
                "min_credits",
                int,
                description="The least a class costs to book: its credit_price, or "
                "premium_credits where only Premium is left. Ignored for a member without an "
                "active plan, who filters by min_price.",
            ),
            OpenApiParameter("max_credits", int, description="The most, read as min_credits."),
            OpenApiParameter(
                "min_price",
                int,
                description="For a member without an active plan, who can only buy classes à "
                "la carte, in place of the credit range: the least a_la_carte_cents may be, in "
                "whole units of the market's currency (10 is 1000 cents). Classes not sold à la "
                "carte are left out.",
            ),
            OpenApiParameter("max_price", int, description="The most, read as min_price."),
            OpenApiParameter(
                "q", str, description="Free text: class, studio, instructor, category."
            ),
            OpenApiParameter(
                "mine",
                bool,
                description="Only the classes of the studios I saved (GET /api/v1/me/studios/); "
                "ignored without a member's credentials.",
            ),
        ],
        examples=[
            OpenApiExample(
                "One result",
                value=SESSION_EXAMPLE,  # one item: the schema wraps it in a page
                response_only=True,
            )
        ],
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        markets = list(Market.objects.order_by("pk"))
        slug = self.request.query_params.get("market")
        member = member_for_user(self.request.user)
        market = next((m for m in markets if m.slug == slug), None) if slug else None
        if slug and market is None:
            raise ValidationError({"market": [f"No market {slug!r}."]})
        market = market or next(
            (m for m in markets if member and m.pk == member.home_market_id), None
        )
        market = market or (markets[0] if markets else None)
        if market is None:
            return Reservation.objects.none()
        form = SearchForm(self.request.query_params, days=selectors.booking_days(market))
        if not form.is_valid():
            # The form's messages, by field, as every other 400 of the API gives them.
            raise ValidationError(
                {
                    "non_field_errors" if name == "__all__" else name: list(messages)
                    for name, messages in form.errors.items()
                }
            )
        return selectors.search_sessions(market, form.filters(member=member))


class SessionDetailView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        summary="A class, with what you can book now and for what",
        responses=SessionDetailSerializer,
        examples=[
            OpenApiExample(
                "Standard spot open",
                value={
                    **SESSION_EXAMPLE,
                    "offers": [
                        {
                            "kind": "standard",
                            "available": True,
                            "credits": 11,
                            "money_cents": 0,
                            "currency": "USD",
                            "label": "Book for 11 credits",
                            "explanation": "11 credits from your plan.",
                            "reason": "",
                        }
                    ],
                    "price_explanation": [
                        "Core Studio Williamsburg is paid $16.00 per visit, and a credit is worth $1.90 in New York: 9 credits.",
                        "+2 for demand: this slot is popular and fills up.",
                    ],
                    "can_join_waitlist": False,
                },
                response_only=True,
            )
        ],
    )
    def get(self, request, session_id: int):
        session = selectors.session_for_page(session_id)
        if session is None:
            raise SessionNotFound("That class does not exist.")
        ctx = services.booking_context(session, member_for_user(request.user), timezone.now())
        session.offers = collect_offers(ctx)
        session.can_join_waitlist = services.may_join_waitlist(ctx)
        session.price_explanation = pricing.explain(session).lines
        return Response(SessionDetailSerializer(session).data)


# Declared field by field, and flat, rather than as a ModelSerializer: it is built for every
# booking, and building fields from the model's metadata cost more than the rest of the response.
class ReservationSerializer(FlatOutputSerializer):
    id = serializers.IntegerField(read_only=True)
    session = serializers.IntegerField(source="session_id", read_only=True)
    class_name = serializers.CharField(source="session.class_type.name", read_only=True)
    studio = serializers.CharField(source="session.studio.name", read_only=True)
    starts_at = serializers.DateTimeField(read_only=True)
    kind = serializers.ChoiceField(choices=ReservationKind.choices, read_only=True)
    premium_reason = serializers.ChoiceField(
        choices=PremiumReason.choices, allow_blank=True, read_only=True
    )
    status = serializers.ChoiceField(choices=ReservationStatus.choices, read_only=True)
    credits_spent = serializers.IntegerField(read_only=True)
    money_paid_cents = serializers.IntegerField(read_only=True)
    currency = serializers.CharField(read_only=True)
    source = serializers.ChoiceField(choices=Source.choices, read_only=True)
    hold_expires_at = serializers.DateTimeField(
        read_only=True,
        allow_null=True,
        help_text=Reservation._meta.get_field("hold_expires_at").help_text,
    )
    created_at = serializers.DateTimeField(read_only=True)


class BookSerializer(StrictSerializer):
    session = serializers.IntegerField(min_value=1)
    offer = serializers.ChoiceField(
        choices=ReservationKind.values, default=ReservationKind.STANDARD
    )
    expected_credits = serializers.IntegerField(min_value=0, required=False)


RESERVATION_EXAMPLE = {
    "id": 5012,
    "session": 1301,
    "class_name": "Mat Pilates",
    "studio": "Core Studio Williamsburg",
    "starts_at": "2026-11-27T11:30:00Z",
    "kind": "standard",
    "premium_reason": "",
    "status": "booked",
    "credits_spent": 11,
    "money_paid_cents": 0,
    "currency": "USD",
    "source": "api",
    "hold_expires_at": None,
    "created_at": "2026-11-26T09:12:03Z",
}


class ReservationListView(generics.ListCreateAPIView):
    serializer_class = ReservationSerializer

    @property
    def throttle_scope(self) -> str | None:
        """Booking has its own limit per member (REST_FRAMEWORK DEFAULT_THROTTLE_RATES)."""
        return "booking" if self.request.method == "POST" else None

    def get_queryset(self):
        return (
            Reservation.objects.filter(member=member_of(self.request))
            .select_related("session__class_type", "session__studio")
            .order_by("-starts_at", "-pk")
        )

    @extend_schema(
        summary="My reservations, newest class first",
        examples=[
            OpenApiExample(
                "One",
                value=RESERVATION_EXAMPLE,  # one item: the schema wraps it in a page
                response_only=True,
            )
        ],
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Book a class",
        description="Send an Idempotency-Key header to make retries safe: the same key returns the same "
        "reservation with the same status; the same key with another body is a 409.",
        request=BookSerializer,
        responses={201: ReservationSerializer},
        parameters=[
            OpenApiParameter(
                "Idempotency-Key", str, location=OpenApiParameter.HEADER, required=False
            )
        ],
        examples=[
            OpenApiExample(
                "Book with credits",
                value={"session": 1301, "offer": "standard", "expected_credits": 11},
                request_only=True,
            ),
            OpenApiExample(
                "Booked", value=RESERVATION_EXAMPLE, response_only=True, status_codes=["201"]
            ),
        ],
    )
    def post(self, request, *args, **kwargs):
        member = member_ref_of(request)
        body = BookSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        key = request.headers.get("Idempotency-Key") or None
        if key is not None and not 1 <= len(key) <= 80:
            raise ValidationError({"Idempotency-Key": ["Between 1 and 80 characters."]})
        reservation = services.book(
            member,
            data["session"],
            offer_kind=data["offer"],
            expected_credits=data.get("expected_credits"),
            idempotency_key=key,
            source=Source.API,
        )
        if key and reservation.kind != data["offer"]:
            raise IdempotencyConflict("This idempotency key was already used for another request.")
        return Response(ReservationSerializer(reservation).data, status=status.HTTP_201_CREATED)


def _own_reservation(request, reservation_id: int) -> Reservation:
    reservation = (
        Reservation.objects.filter(pk=reservation_id, member=member_of(request))
        .select_related("session__studio__market")
        .first()
    )
    if reservation is None:  # another member's is no more visible than none
        raise NotFound("No such reservation.")
    return reservation


class CancelSerializer(StrictSerializer):
    free_only = serializers.BooleanField(
        default=False,
        help_text="Cancel only if it is still free: past the studio's window, refuse with 409 "
        "`late_cancel_not_confirmed` and the terms instead of charging the fee. Send it when "
        "the member was shown a free cancel, as the website does.",
    )


class CancelTermsSerializer(serializers.Serializer):
    late = serializers.BooleanField(help_text="Past the studio's window: a late cancel.")
    free_until = serializers.DateTimeField(help_text="Cancelling is free until then.")
    fee_cents = serializers.IntegerField(
        help_text="The late-cancel fee a late cancel charges (0 for a class paid in money, "
        "whose price is kept)."
    )
    kept_cents = serializers.IntegerField(
        help_text="The money paid for the class that a late cancel does not refund."
    )
    currency = serializers.CharField()
    terms = serializers.CharField(source="describe", help_text="The terms in a sentence.")


class CancelView(APIView):
    @extend_schema(
        summary="What cancelling a reservation costs now",
        description="The terms its Cancel button shows: free until the studio's window closes, "
        "then credits back and the market's late-cancel fee (a class bought à la carte keeps "
        "its price). 409 where it can no longer be cancelled.",
        responses={200: CancelTermsSerializer, 404: ErrorSerializer, 409: ErrorSerializer},
        examples=[
            OpenApiExample(
                "Still free",
                value={
                    "late": False,
                    "free_until": "2026-11-27T05:30:00Z",
                    "fee_cents": 1000,
                    "kept_cents": 0,
                    "currency": "USD",
                    "terms": "Free cancellation.",
                },
                response_only=True,
            ),
            error_example(
                "Started",
                409,
                "not_cancellable",
                "This class has started; it can no longer be cancelled.",
            ),
        ],
    )
    def get(self, request, reservation_id: int):
        reservation = _own_reservation(request, reservation_id)
        return Response(CancelTermsSerializer(services.cancel_preview(reservation)).data)

    @extend_schema(
        summary="Cancel a reservation (free until the studio's window; then credits back, fee)",
        request=CancelSerializer,
        responses={200: ReservationSerializer, 409: ErrorSerializer},
        examples=[
            OpenApiExample("Only if still free", value={"free_only": True}, request_only=True),
            OpenApiExample(
                "Cancelled",
                value={**RESERVATION_EXAMPLE, "status": "cancelled"},
                response_only=True,
            ),
            error_example(
                "No longer free",
                409,
                "late_cancel_not_confirmed",
                "Free cancellation ended Fri 27 Nov at 00:30. A late cancel: your credits come "
                "back and a $10.00 fee is charged. Cancel again to confirm.",
            ),
        ],
    )
    def post(self, request, reservation_id: int):
        reservation = _own_reservation(request, reservation_id)
        body = CancelSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        cancelled = services.cancel(
            reservation.pk,
            member=member_of(request),
            late_ok=not body.validated_data["free_only"],
        )
        return Response(ReservationSerializer(cancelled).data)


class PayView(APIView):
    @extend_schema(
        summary="Pay for a held à-la-carte spot",
        request=None,
        responses=ReservationSerializer,
        examples=[
            OpenApiExample(
                "Paid",
                value={
                    **RESERVATION_EXAMPLE,
                    "kind": "a_la_carte",
                    "premium_reason": "a_la_carte",
                    "credits_spent": 0,
                    "money_paid_cents": 2800,
                },
                response_only=True,
            )
        ],
    )
    def post(self, request, reservation_id: int):
        reservation = _own_reservation(request, reservation_id)
        return Response(
            ReservationSerializer(services.pay_hold(reservation.pk, member=member_of(request))).data
        )


class WaitlistSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    session = serializers.IntegerField(source="session_id")
    status = serializers.CharField()
    position = serializers.IntegerField()


class WaitlistView(APIView):
    @extend_schema(
        summary="Join the waitlist of a sold-out class",
        description="Only a member whom nothing but a free network spot stops may wait: one "
        "who has used the studio's monthly visits for the class's cycle, or lacks its credits, "
        "gets a 409 that says so (promotions would pass them over).",
        request=None,
        responses={201: WaitlistSerializer, 409: ErrorSerializer},
        examples=[
            OpenApiExample(
                "Waiting",
                value={"id": 77, "session": 1301, "status": "waiting", "position": 3},
                response_only=True,
            ),
            error_example(
                "At the studio's monthly limit",
                409,
                "waitlist_error",
                "You've reached your 3 visits at this studio this cycle.",
            ),
        ],
    )
    def post(self, request, session_id: int):
        entry = services.join_waitlist(member_of(request), session_id)
        entry.position = services.waitlist_position(entry)
        return Response(WaitlistSerializer(entry).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Leave the waitlist of a class",
        request=None,
        responses={204: None, 409: ErrorSerializer},
        examples=[
            error_example("Not waiting", 409, "waitlist_error", "You're not on this waitlist.")
        ],
    )
    def delete(self, request, session_id: int):
        member = member_of(request)
        entry = selectors.waiting_entry(
            member, selectors.session_for_page(session_id) or _missing()
        )
        if entry is None:
            raise WaitlistError("You're not on this waitlist.")
        services.leave_waitlist(member, entry.pk)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MyWaitlistSerializer(WaitlistSerializer):
    class_name = serializers.CharField(source="session.class_type.name")
    studio = serializers.CharField(source="session.studio.name")
    starts_at = serializers.DateTimeField(source="session.starts_at")


class MyWaitlistsView(APIView):
    @extend_schema(
        summary="The waitlists I am on",
        description=(
            "Classes still to come, soonest first, with my place in each line. A freed spot goes "
            "to the first waiting member who may book it, up to 2 hours before class; the "
            "booking is e-mailed and shows in `GET /api/v1/reservations/`."
        ),
        responses=MyWaitlistSerializer(many=True),  # a plain list: a member waits for a few
        examples=[
            OpenApiExample(
                "Third in line",
                value={
                    "id": 77,
                    "session": 1301,
                    "status": "waiting",
                    "position": 3,
                    "class_name": "Vinyasa Flow",
                    "studio": "Flow House",
                    "starts_at": "2026-12-01T23:30:00Z",
                },
                response_only=True,
            )
        ],
    )
    def get(self, request):
        entries = selectors.waiting_entries(member_of(request))
        return Response(MyWaitlistSerializer(entries, many=True).data)


def _missing():
    raise SessionNotFound("That class does not exist.")


# --- partner endpoints ---------------------------------------------------------------------


class RosterRowSerializer(serializers.ModelSerializer):
    member = serializers.CharField(source="member.user.email")
    member_name = serializers.CharField(
        source="member.display_name",
        help_text="As the dashboard's class list shows the member: their name, else their "
        'address; "Deleted member" for a closed account.',
    )
    shown_as = serializers.SerializerMethodField()
    visits_cycle = serializers.IntegerField()
    visits_total = serializers.IntegerField()

    class Meta:
        model = Reservation
        fields = [
            "id",
            "member",
            "member_name",
            "kind",
            "shown_as",
            "source",
            "status",
            "visits_cycle",
            "visits_total",
        ]

    def get_shown_as(self, reservation) -> str:
        return "Premium" if reservation.shows_as_premium else "Standard"


class PartnerRosterView(PartnerAPIView):
    permission = "roster"
    serializer_class = RosterRowSerializer
    pagination_class = None

    @extend_schema(
        summary="Everyone booked into a class",
        responses=RosterRowSerializer(many=True),  # a plain list: the roster is not paginated
        examples=[
            OpenApiExample(
                "One",
                value={  # one row: the schema wraps it in a list
                    "id": 5012,
                    "member": "maya@example.com",
                    "member_name": "Maya Lin",
                    "kind": "standard",
                    "shown_as": "Standard",
                    "source": "api",
                    "status": "booked",
                    "visits_cycle": 2,
                    "visits_total": 9,
                },
                response_only=True,
            )
        ],
    )
    def get(self, request, studio_slug: str, session_id: int):
        session = session_for_studio(self.studio, session_id)
        if session is None:
            raise NotFound("No such class.")
        return Response(RosterRowSerializer(selectors.roster(self.studio, session), many=True).data)


class PartnerMarkView(PartnerAPIView):
    permission = "check_in"
    serializer_class = ReservationSerializer
    action = ""

    @extend_schema(
        request=None,
        responses=ReservationSerializer,
        examples=[
            OpenApiExample(
                "Marked", value={**RESERVATION_EXAMPLE, "status": "attended"}, response_only=True
            )
        ],
    )
    def post(self, request, studio_slug: str, reservation_id: int):
        reservation = selectors.reservation_for_studio(self.studio, reservation_id)
        if reservation is None:
            raise NotFound("No such reservation.")
        mark = services.mark_attended if self.action == "check_in" else services.mark_missed
        return Response(ReservationSerializer(mark(reservation.pk)).data)


class PartnerCheckInView(PartnerMarkView):
    action = "check_in"


class PartnerMissedView(PartnerMarkView):
    action = "missed"


class WebhookSerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookSubscription
        fields = ["id", "url", "is_active", "created_at"]
        read_only_fields = ["id", "is_active", "created_at"]

    def validate_url(self, url: str) -> str:
        if not url.lower().startswith(("https://", "http://")):
            raise ValidationError("Use an http(s) URL.")
        return url


class WebhookCreatedSerializer(WebhookSerializer):
    secret = serializers.CharField(
        read_only=True, help_text="Shown once: sign-check each delivery with it."
    )

    class Meta(WebhookSerializer.Meta):
        fields = [*WebhookSerializer.Meta.fields, "secret"]


class PartnerWebhooksView(ListModelMixin, PartnerAPIView):
    permission = "integrations"
    serializer_class = WebhookSerializer

    def get_queryset(self):
        return WebhookSubscription.objects.filter(studio=self.studio, is_active=True)

    @extend_schema(
        summary="The studio's webhook subscriptions",
        examples=[
            OpenApiExample(
                "One",
                value={  # one item: the schema wraps it in a page
                    "id": 3,
                    "url": "https://desk.example.com/hooks/classpass",
                    "is_active": True,
                    "created_at": "2026-11-26T09:00:00Z",
                },
                response_only=True,
            )
        ],
    )
    def get(self, request, studio_slug: str):
        return self.list(request)

    @extend_schema(
        summary="Subscribe a URL to reservation events",
        description="Events: reservation.booked, .promoted, .cancelled, .late_cancelled, .missed, .session_cancelled. Each is a JSON "
        "POST with X-Classpass-Signature: sha256=HMAC-SHA256(secret, body), retried with back-off on failure.",
        request=WebhookSerializer,
        responses={201: WebhookCreatedSerializer},
        examples=[
            OpenApiExample(
                "Subscribe",
                value={"url": "https://desk.example.com/hooks/classpass"},
                request_only=True,
            ),
            OpenApiExample(
                "Created",
                value={
                    "id": 3,
                    "url": "https://desk.example.com/hooks/classpass",
                    "is_active": True,
                    "created_at": "2026-11-26T09:00:00Z",
                    "secret": "9f2c…",
                },
                response_only=True,
                status_codes=["201"],
            ),
        ],
    )
    def post(self, request, studio_slug: str):
        body = WebhookSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        subscription = WebhookSubscription.objects.create(
            studio=self.studio, url=body.validated_data["url"], secret=webhooks.new_secret()
        )
        return Response(WebhookCreatedSerializer(subscription).data, status=status.HTTP_201_CREATED)


class PartnerWebhookView(PartnerAPIView):
    permission = "integrations"
    serializer_class = WebhookSerializer

    @extend_schema(
        summary="Unsubscribe",
        request=None,
        responses={204: None, 404: ErrorSerializer},
        examples=[error_example("Unknown", 404, "not_found", "No such subscription.")],
    )
    def delete(self, request, studio_slug: str, webhook_id: int):
        if not WebhookSubscription.objects.filter(studio=self.studio, pk=webhook_id).update(
            is_active=False
        ):
            raise NotFound("No such subscription.")
        return Response(status=status.HTTP_204_NO_CONTENT)
