"""Member API: who am I, my credits and payments, the studios I saved; deleting my account."""

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from studios.api import ErrorSerializer, RejectUnknownFields, error_example

from . import selectors, services
from .models import CreditEntry, Member, Payment


class PlanSerializer(serializers.Serializer):
    name = serializers.CharField()
    credits_per_cycle = serializers.IntegerField()
    price_cents = serializers.IntegerField()
    currency = serializers.CharField()


class MeSerializer(serializers.ModelSerializer):
    email = serializers.EmailField(source="user.email")
    first_name = serializers.CharField(source="user.first_name")
    last_name = serializers.CharField(source="user.last_name")
    market = serializers.SlugRelatedField(source="home_market", slug_field="slug", read_only=True)
    plan = PlanSerializer(allow_null=True)
    email_confirmed = serializers.SerializerMethodField()

    class Meta:
        model = Member
        fields = [
            "email",
            "email_confirmed",
            "first_name",
            "last_name",
            "market",
            "status",
            "plan",
            "credit_balance",
            "cycle_started_at",
            "next_renewal_at",
            "class_reminders",
        ]

    def get_email_confirmed(self, member) -> bool:
        """Whether the member followed the link e-mailed to the address (the account page
        sends it again)."""
        return member.email_confirmed_at is not None


class CreditEntrySerializer(serializers.ModelSerializer):
    class Meta:
        model = CreditEntry
        fields = ["id", "created_at", "kind", "amount", "balance_after", "note"]


class PaymentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Payment
        fields = [
            "id",
            "created_at",
            "kind",
            "amount_cents",
            "currency",
            "status",
            "description",
            "failure_reason",
        ]


def member_of(request) -> Member:
    member = selectors.member_for_user(request.user)
    if member is None:
        raise NotFound("This account has no member profile.")
    return member


def member_ref_of(request) -> Member:
    """Only the member's key: services that lock the row read what they need themselves.
    Token authentication already read the profile with the user; otherwise one indexed lookup."""
    user = request.user
    # The model's descriptor, not type(user)'s: with a login session, request.user is Django's
    # lazy wrapper around the user.
    if Member.user.field.remote_field.is_cached(user):
        member = getattr(user, "member", None)
        if member is None:
            raise NotFound("This account has no member profile.")
        return member
    pk = selectors.member_id_for_user(user)
    if pk is None:
        raise NotFound("This account has no member profile.")
    return Member(pk=pk, user_id=request.user.pk)


ME_EXAMPLE = OpenApiExample(
    "A member on the Core plan",
    value={
        "email": "maya@example.com",
        "email_confirmed": True,
        "first_name": "Maya",
        "last_name": "Lin",
        "market": "new-york",
        "status": "active",
        "plan": {"name": "Core", "credits_per_cycle": 50, "price_cents": 8499, "currency": "USD"},
        "credit_balance": 42,
        "cycle_started_at": "2026-11-03T15:00:00Z",
        "next_renewal_at": "2026-12-03T15:00:00Z",
        "class_reminders": True,
    },
    response_only=True,
)


class MeChangeSerializer(RejectUnknownFields, serializers.Serializer):
    first_name = serializers.CharField(required=False, allow_blank=True, max_length=150)
    last_name = serializers.CharField(required=False, allow_blank=True, max_length=150)
    class_reminders = serializers.BooleanField(required=False)


class MeView(APIView):
    @extend_schema(
        responses=MeSerializer, examples=[ME_EXAMPLE], summary="My plan and credit balance"
    )
    def get(self, request):
        return Response(MeSerializer(member_of(request)).data)

    @extend_schema(
        summary="Change my name and settings",
        description=(
            "`first_name`, `last_name`: the name studios see on their class lists. "
            "`class_reminders`: whether I am e-mailed a reminder before each class I book "
            "(receipts of charges and bookings are always sent). A field left out keeps its "
            "value. The e-mail address changes on the website, with the password."
        ),
        request=MeChangeSerializer,
        responses={200: MeSerializer, 400: ErrorSerializer},
        examples=[
            OpenApiExample(
                "No more reminders", value={"class_reminders": False}, request_only=True
            ),
            ME_EXAMPLE,
        ],
    )
    def patch(self, request):
        member = member_of(request)
        body = MeChangeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data, user = body.validated_data, request.user
        if {"first_name", "last_name"} & set(data):
            services.change_details(
                member.user,
                first_name=data.get("first_name", user.first_name),
                last_name=data.get("last_name", user.last_name),
                email=user.email,
            )
        if "class_reminders" in data:
            services.set_class_reminders(member, enabled=data["class_reminders"])
        return Response(MeSerializer(member).data)


class CreditsView(generics.ListAPIView):
    serializer_class = CreditEntrySerializer

    @extend_schema(
        summary="My credit ledger, newest first",
        examples=[
            OpenApiExample(
                "A booking",
                value={  # one entry: the schema wraps it in a page
                    "id": 12,
                    "created_at": "2026-11-20T10:00:00Z",
                    "kind": "booking",
                    "amount": -8,
                    "balance_after": 42,
                    "note": "Vinyasa Flow at Lotus House SoHo, Fri 20 Nov 18:30",
                },
                response_only=True,
            )
        ],
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        return selectors.credit_history(member_of(self.request))


class PaymentsView(generics.ListAPIView):
    serializer_class = PaymentSerializer

    @extend_schema(
        summary="My payments, newest first",
        description=(
            "Money taken for the plan, for classes bought à la carte and for late-cancel and "
            "missed-class fees, and refunds (negative amounts). A declined payment has status "
            "`failed` and says why."
        ),
        examples=[
            OpenApiExample(
                "A late-cancel fee",
                value={  # one payment: the schema wraps it in a page
                    "id": 31,
                    "created_at": "2026-11-20T17:05:00Z",
                    "kind": "late_cancel_fee",
                    "amount_cents": 1000,
                    "currency": "USD",
                    "status": "succeeded",
                    "description": "Vinyasa Flow at Lotus House SoHo, Fri 20 Nov 18:30",
                    "failure_reason": "",
                },
                response_only=True,
            )
        ],
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        return selectors.payment_history(member_of(self.request))


class DeleteAccountSerializer(RejectUnknownFields, serializers.Serializer):
    password = serializers.CharField(trim_whitespace=False, write_only=True)


class DeleteAccountView(APIView):
    @extend_schema(
        summary="Delete my account, for good",
        description=(
            "Erases the name, e-mail address and password, ends the plan (the balance is "
            "forfeited) and revokes every token, this one included; payments, the credit ledger "
            "and past classes are kept without the name. The password confirms it. Refused with "
            "422 while classes are booked ahead (cancel them first) or while the account staffs "
            "a studio."
        ),
        request=DeleteAccountSerializer,
        responses={204: None, 400: ErrorSerializer, 422: ErrorSerializer},
        examples=[
            OpenApiExample("Confirm", value={"password": "my password"}, request_only=True),
            error_example(
                "Classes ahead",
                422,
                "account_not_deletable",
                "You have 1 class ahead: cancel it on My schedule first.",
            ),
        ],
    )
    def post(self, request):
        member = member_of(request)
        body = DeleteAccountSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        if not request.user.check_password(body.validated_data["password"]):
            raise ValidationError({"password": ["That is not your password."]})
        services.delete_account(member)
        return Response(status=status.HTTP_204_NO_CONTENT)


class SavedStudioSerializer(serializers.Serializer):
    slug = serializers.SlugField()
    name = serializers.CharField()
    address = serializers.CharField()
    market = serializers.CharField(source="market.slug")


SAVED_STUDIO_EXAMPLE = OpenApiExample(
    "A saved studio",
    value={
        "slug": "flow-house",
        "name": "Flow House",
        "address": "12 Spring St, New York",
        "market": "new-york",
    },
    response_only=True,
)


class SavedStudiosView(APIView):
    @extend_schema(
        summary="The studios I saved (My studios)",
        description="Search only their classes with `GET /api/v1/sessions/?mine=true`.",
        responses=SavedStudioSerializer(many=True),  # a plain list: a member saves a few
        examples=[SAVED_STUDIO_EXAMPLE],
    )
    def get(self, request):
        studios = selectors.saved_studios(member_of(request))
        return Response(SavedStudioSerializer(studios, many=True).data)


class SavedStudioView(APIView):
    def _studio(self, slug: str):
        studio = selectors.studio_to_save(slug)
        if studio is None:
            raise NotFound("That studio does not exist.")
        return studio

    @extend_schema(
        summary="Save a studio to My studios",
        description="Saving a studio already saved changes nothing.",
        request=None,
        responses={200: SavedStudioSerializer, 404: ErrorSerializer},
        examples=[SAVED_STUDIO_EXAMPLE],
    )
    def put(self, request, slug: str):
        member, studio = member_of(request), self._studio(slug)
        services.save_studio(member, studio, saved=True)
        return Response(SavedStudioSerializer(studio).data)

    @extend_schema(
        summary="Take a studio out of My studios",
        request=None,
        responses={204: None, 404: ErrorSerializer},
        examples=[error_example("No such studio", 404, "not_found", "That studio does not exist.")],
    )
    def delete(self, request, slug: str):
        member, studio = member_of(request), self._studio(slug)
        services.save_studio(member, studio, saved=False)
        return Response(status=status.HTTP_204_NO_CONTENT)
