"""Member API: who am I, my plan and the plans on offer, my credits and payments, the studios I
saved; deleting my account."""

from collections.abc import Callable

from django.contrib.auth import authenticate, user_logged_in
from drf_spectacular.utils import (
    OpenApiExample,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import generics, serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from classpass import ratelimit
from classpass.api import error as api_error
from studios.api import ErrorSerializer, RejectUnknownFields, error_example
from studios.models import Market

from . import selectors, services
from .auth import TokenAuthentication
from .forms import SignUpForm
from .models import CreditEntry, Member, Payment


class PlanSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    credits_per_cycle = serializers.IntegerField()
    price_cents = serializers.IntegerField()
    currency = serializers.CharField()


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


class MeSerializer(serializers.ModelSerializer):
    email = serializers.EmailField(source="user.email")
    first_name = serializers.CharField(source="user.first_name")
    last_name = serializers.CharField(source="user.last_name")
    market = serializers.SlugRelatedField(source="home_market", slug_field="slug", read_only=True)
    plan = PlanSerializer(allow_null=True)
    next_plan = PlanSerializer(
        allow_null=True, help_text="The plan that takes over at the next renewal, if another."
    )
    email_confirmed = serializers.SerializerMethodField()
    declined_renewal = serializers.SerializerMethodField()

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
            "next_plan",
            "credit_balance",
            "cycle_started_at",
            "next_renewal_at",
            "declined_renewal",
            "class_reminders",
        ]

    @extend_schema_field(PaymentSerializer(allow_null=True))
    def get_declined_renewal(self, member) -> dict | None:
        """Where a declined renewal paused the plan, that payment, with the reason (the
        account page says the same); null otherwise, a pause by the member included."""
        payment = selectors.declined_renewal(member)
        return None if payment is None else PaymentSerializer(payment).data

    def get_email_confirmed(self, member) -> bool:
        """Whether the member followed the link e-mailed to the address (the account page
        sends it again)."""
        return member.email_confirmed_at is not None


class CreditEntrySerializer(serializers.ModelSerializer):
    class Meta:
        model = CreditEntry
        fields = ["id", "created_at", "kind", "amount", "balance_after", "note"]


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
        "plan": {
            "id": 2,
            "name": "Core",
            "credits_per_cycle": 50,
            "price_cents": 8499,
            "currency": "USD",
        },
        "next_plan": None,
        "credit_balance": 42,
        "cycle_started_at": "2026-11-03T15:00:00Z",
        "next_renewal_at": "2026-12-03T15:00:00Z",
        "declined_renewal": None,
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


class PlanOfferSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    credits_per_cycle = serializers.IntegerField()
    price_cents = serializers.IntegerField()
    price_per_credit_cents = serializers.IntegerField(
        help_text="What a credit costs on this plan: how plans compare."
    )
    currency = serializers.CharField()
    mine = serializers.SerializerMethodField()
    from_next_renewal = serializers.SerializerMethodField()

    def get_mine(self, plan) -> bool:
        """The member's active plan."""
        member = self.context["member"]
        return member.has_active_plan and member.plan_id == plan.pk

    def get_from_next_renewal(self, plan) -> bool:
        """The plan the member changed to: it takes over at the next renewal."""
        member = self.context["member"]
        return member.has_active_plan and member.next_plan_id == plan.pk


class PlansView(APIView):
    @extend_schema(
        summary="The plans I can choose",
        description=(
            "The plans of my city, fewest credits first. Choose one with `POST /api/v1/me/plan/`."
        ),
        responses=PlanOfferSerializer(many=True),  # a plain list: a city has a few
        examples=[
            OpenApiExample(
                "A plan the member changed to: it takes over at the next renewal",
                value={
                    "id": 2,
                    "name": "Core",
                    "credits_per_cycle": 50,
                    "price_cents": 8499,
                    "price_per_credit_cents": 170,
                    "currency": "USD",
                    "mine": False,
                    "from_next_renewal": True,
                },
                response_only=True,
            )
        ],
    )
    def get(self, request):
        member = member_of(request)
        plans = selectors.plans_for(member.home_market)
        return Response(PlanOfferSerializer(plans, many=True, context={"member": member}).data)


class PlanChoiceSerializer(RejectUnknownFields, serializers.Serializer):
    plan = serializers.IntegerField(help_text="A plan's id, from `GET /api/v1/plans/`.")


PLAN_ERRORS = [
    error_example(
        "Declined", 402, "payment_failed", "The payment did not go through: card declined"
    ),
    error_example(
        "The payment service did not answer",
        503,
        "payment_unavailable",
        services.PLAN_NOT_STARTED,
    ),
]


class MyPlanView(APIView):
    @extend_schema(
        summary="Choose or change my plan",
        description=(
            "Without an active plan, the plan starts now: its first month is charged and its "
            "credits are mine (402 when the payment is declined; 503 when the payment service "
            "did not answer: send the same request again, nothing is charged twice). With an "
            "active plan, the new one takes over at the next renewal (`next_plan`); choosing "
            "my own plan again undoes such a change. A paused plan is resumed instead (422)."
        ),
        request=PlanChoiceSerializer,
        responses={
            200: MeSerializer,
            400: ErrorSerializer,
            402: ErrorSerializer,
            422: ErrorSerializer,
            503: ErrorSerializer,
        },
        examples=[
            OpenApiExample("Choose Core", value={"plan": 2}, request_only=True),
            ME_EXAMPLE,
            *PLAN_ERRORS,
            error_example(
                "Paused",
                422,
                "invalid_plan_state",
                "Your plan is paused; resume it from your account page.",
            ),
        ],
    )
    def post(self, request):
        member = member_of(request)
        body = PlanChoiceSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        plan = selectors.plans_for(member.home_market).filter(pk=body.validated_data["plan"])
        if not plan:
            raise ValidationError({"plan": ["That plan is not offered in your city."]})
        services.pick_plan(member, plan[0])
        return Response(MeSerializer(selectors.member_for_user(request.user)).data)


class PlanActionView(APIView):
    """POST runs `action` on the member's plan and answers with the member, as GET /me/ does."""

    action: Callable[[Member], Member]

    def post(self, request):
        self.action(member_of(request))
        return Response(MeSerializer(selectors.member_for_user(request.user)).data)


def _plan_action_schema(summary: str, description: str, refusal: str, *, charges: bool):
    errors = {402: ErrorSerializer, 503: ErrorSerializer} if charges else {}
    return extend_schema_view(
        post=extend_schema(
            summary=summary,
            description=description,
            request=None,
            responses={200: MeSerializer, 422: ErrorSerializer, **errors},
            examples=[
                ME_EXAMPLE,
                error_example("Not possible now", 422, "invalid_plan_state", refusal),
                *(PLAN_ERRORS if charges else []),
            ],
        )
    )


@_plan_action_schema(
    "Pause my plan",
    "Renewals stop and the credits wait; a paused member cannot book until they resume.",
    "Only an active plan can be paused.",
    charges=False,
)
class PausePlanView(PlanActionView):
    action = staticmethod(services.pause)


@_plan_action_schema(
    "Resume my paused plan",
    "A new month starts now: charged now (402 when declined; 503 when the payment service did "
    "not answer: send it again, nothing is charged twice), its credits added to those that "
    "waited, within the rollover limit.",
    "Only a paused plan can be resumed.",
    charges=True,
)
class ResumePlanView(PlanActionView):
    action = staticmethod(services.resume)


@_plan_action_schema(
    "Cancel my plan",
    "The plan ends now: nothing more is charged, unused credits are forfeited (a ledger "
    "entry), classes already booked stay booked. A plan can be chosen again at any time.",
    "There is no plan to cancel.",
    charges=False,
)
class CancelPlanView(PlanActionView):
    action = staticmethod(services.cancel_plan)


class LoginSerializer(RejectUnknownFields, serializers.Serializer):
    email = serializers.CharField(max_length=254)
    password = serializers.CharField(max_length=4096, trim_whitespace=False, write_only=True)


class NewTokenSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="Send it as `Authorization: Token <token>`.")


NEW_TOKEN_EXAMPLE = OpenApiExample(
    "A new token",
    value={"token": "9f0c2e7d1b5a4c3e8f6a0b2d4c6e8a1f3b5d7c9e1a3c5e7f9b1d3f5a7c9e1b3d"},
    response_only=True,
    status_codes=["201"],
)
BAD_LOGIN = "That e-mail address and password do not match an account."
LOCKED_OUT = (
    "Too many attempts: this account is locked for an hour after several wrong passwords from "
    "here. Reset the password on the website, or try again later."
)


class TokenView(APIView):
    """An app's log-in and log-out: a personal token for an e-mail address and password, the
    same token the account page makes, and its revocation. The log-in goes through the same
    authentication backends as the website's, django-axes first, so wrong passwords lock the
    account for this address as they do there."""

    def _logging_in(self) -> bool:
        # The schema generator builds the view without a request.
        return getattr(self.request, "method", None) == "POST"

    def get_authenticators(self):
        # Logging in needs no credentials (nor a session's CSRF token); logging out, the token.
        return [] if self._logging_in() else [TokenAuthentication()]

    def get_permissions(self):
        return [AllowAny()] if self._logging_in() else super().get_permissions()

    @extend_schema(
        summary="Log in: a new token for my e-mail address and password",
        description=(
            "For apps: answers a personal token, shown once (only its digest is stored), as the "
            "account page's tokens. Wrong credentials are a 400 that does not say which was "
            "wrong; after five from one address the account is locked there for an hour (429), "
            "as on the website."
        ),
        auth=[],
        request=LoginSerializer,
        responses={201: NewTokenSerializer, 400: ErrorSerializer, 429: ErrorSerializer},
        examples=[
            OpenApiExample(
                "Log in",
                value={"email": "maya@example.com", "password": "my password"},
                request_only=True,
            ),
            NEW_TOKEN_EXAMPLE,
            error_example(
                "Wrong e-mail address or password", 400, "invalid_credentials", BAD_LOGIN
            ),
            error_example("Locked out", 429, "locked_out", LOCKED_OUT),
        ],
    )
    def post(self, request):
        body = LoginSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        http_request = request._request  # django-axes reads and flags Django's own request
        user = authenticate(
            http_request,
            username=body.validated_data["email"],
            password=body.validated_data["password"],
        )
        if getattr(http_request, "axes_locked_out", False):
            # Answered here, in the API's shape, rather than by AxesMiddleware's HTML page.
            http_request.axes_locked_out = False
            return api_error("locked_out", LOCKED_OUT, status.HTTP_429_TOO_MANY_REQUESTS)
        if user is None:
            return api_error("invalid_credentials", BAD_LOGIN, status.HTTP_400_BAD_REQUEST)
        # As a log-in on the website: last_login, and django-axes forgets the failures.
        user_logged_in.send(sender=type(user), request=http_request, user=user)
        _, token = services.create_api_token(user)
        return Response({"token": token}, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Log out: revoke the token of this request",
        description="Other tokens of the account keep working; the account page lists them.",
        request=None,
        responses={204: None, 401: ErrorSerializer},
        examples=[error_example("Already revoked", 401, "authentication_failed", "Invalid token.")],
    )
    def delete(self, request):
        services.revoke_api_token(request.user, request.auth.token_key)
        return Response(status=status.HTTP_204_NO_CONTENT)


class SignUpSerializer(RejectUnknownFields, serializers.Serializer):
    email = serializers.CharField(max_length=254)
    password = serializers.CharField(max_length=4096, trim_whitespace=False, write_only=True)
    market = serializers.SlugField(help_text="My city: a slug from `GET /api/v1/markets/`.")
    first_name = serializers.CharField(required=False, allow_blank=True, max_length=150)
    last_name = serializers.CharField(required=False, allow_blank=True, max_length=150)


class SignUpView(APIView):
    """The website's sign-up form, over the API: the same checks (the address, the password
    validators), the same limit per client address, the same e-mail with the link that
    confirms the address. Answers a personal token, as a log-in does."""

    authentication_classes: list = []  # no session (nor its CSRF token) to sign up
    permission_classes = [AllowAny]

    @extend_schema(
        summary="Sign up: a member account and its first token",
        description=(
            "Creates the account in my city and e-mails a link that confirms the address; "
            "choose a plan next (`POST /api/v1/me/plan/`) or buy single classes. Refused with "
            "400 and the fields (a password the validators refuse, an unknown city), with 422 "
            "when the address has an account, and with 429 after 20 sign-ups an hour from one "
            "address, as on the website."
        ),
        auth=[],
        request=SignUpSerializer,
        responses={
            201: NewTokenSerializer,
            400: ErrorSerializer,
            422: ErrorSerializer,
            429: ErrorSerializer,
        },
        examples=[
            OpenApiExample(
                "Sign up",
                value={
                    "email": "maya@example.com",
                    "password": "a long passphrase",
                    "market": "new-york",
                    "first_name": "Maya",
                    "last_name": "Lin",
                },
                request_only=True,
            ),
            NEW_TOKEN_EXAMPLE,
            error_example("Taken", 422, "email_taken", services.ADDRESS_TAKEN),
        ],
    )
    def post(self, request):
        body = SignUpSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        market = Market.objects.filter(slug=data.pop("market")).first()
        if market is None:
            raise ValidationError({"market": ["There is no such city."]})
        form = SignUpForm({**data, "market": market.pk})
        if not form.is_valid():
            raise ValidationError({k: list(v) for k, v in form.errors.items()})
        services.count_sign_up(ratelimit.client_address(request))
        member = services.sign_up(**form.cleaned_data)
        _, token = services.create_api_token(member.user)
        return Response({"token": token}, status=status.HTTP_201_CREATED)


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
