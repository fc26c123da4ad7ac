"""Partner API of the studios app: classes (the integration sync endpoint), earnings, the class
types and instructors that classes are made of, and the team.

Every partner endpoint derives from PartnerAPIView: the studio comes from the URL and must be
one the token's user staffs (404 otherwise, as on the dashboard), and the role must allow it (403).
"""

from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    extend_schema,
    extend_schema_view,
)
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.fields import get_attribute
from rest_framework.generics import GenericAPIView
from rest_framework.mixins import ListModelMixin
from rest_framework.response import Response

from . import selectors, services
from .models import (
    AuditEntry,
    ClassSession,
    ClassType,
    EarningEntry,
    Instructor,
    Schedule,
    StaffMembership,
    StaffRole,
)
from .partner import PERMISSIONS, partner_for


class PartnerAPIView(GenericAPIView):
    permission = "overview"

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        partner = partner_for(request.user, kwargs.get("studio_slug", ""))
        if partner is None:
            raise NotFound("No such studio.")
        if partner.role not in PERMISSIONS[self.permission]:
            raise PermissionDenied(f"Your role ({partner.role_label}) may not do this.")
        request.partner = partner
        self.studio = partner.studio


class ErrorBodySerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    fields = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))


class ErrorSerializer(serializers.Serializer):
    """Every error of the API: {"error": {"code", "message", "fields"}}."""

    error = ErrorBodySerializer()


def error_example(title: str, status: int, code: str, message: str) -> OpenApiExample:
    """A documented error answer, in the one shape ErrorSerializer describes."""
    return OpenApiExample(
        title,
        value={"error": {"code": code, "message": message, "fields": {}}},
        response_only=True,
        status_codes=[str(status)],
    )


class RejectUnknownFields:
    """A serializer mixin: a field it does not know is a 400, not a silently ignored typo; so
    is a field it only shows (an id, a status, a currency), which cannot be set."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            errors = {
                name: ["Unknown field."] if name not in self.fields else ["It cannot be set."]
                for name in sorted(data)
                if name not in self.fields or self.fields[name].read_only
            }
            if errors:
                raise ValidationError(errors)
        return super().to_internal_value(data)


class StrictModelSerializer(RejectUnknownFields, serializers.ModelSerializer):
    pass


class FlatOutputSerializer(serializers.Serializer):
    """An output-only serializer of plain declared fields (no nesting, no method fields).

    DRF deep-copies and binds every declared field for each serializer instance, which cost
    more than the rest of a booking's response (docs/performance.md). Here the representation
    reads the attributes through each field's source and formats them with the class's own
    field objects, which hold no per-request state. tests/test_compiled_sql.py holds the output
    equal to DRF's own; `fields` (for the OpenAPI schema) is untouched.
    """

    @classmethod
    def _plan(cls) -> list:
        plan = cls.__dict__.get("_flat_plan")
        if plan is None:
            plan = [
                (name, field, (field.source or name).split("."))
                for name, field in cls._declared_fields.items()
            ]
            cls._flat_plan = plan
        return plan

    def to_representation(self, instance) -> dict:
        out = {}
        for name, field, attrs in self._plan():
            value = get_attribute(instance, attrs)
            out[name] = None if value is None else field.to_representation(value)
        return out


class PartnerSessionSerializer(StrictModelSerializer):
    class_type = serializers.PrimaryKeyRelatedField(queryset=ClassType.objects.none())
    instructor = serializers.PrimaryKeyRelatedField(
        queryset=Instructor.objects.none(), allow_null=True, required=False
    )

    class Meta:
        model = ClassSession
        fields = [
            "id",
            "class_type",
            "instructor",
            "starts_at",
            "duration_minutes",
            "capacity",
            "network_spots",
            "studio_booked",
            "network_booked",
            "premium_booked",
            "credit_price",
            "status",
        ]
        read_only_fields = ["id", "network_booked", "premium_booked", "status"]

    def __init__(self, *args, studio=None, **kwargs):
        super().__init__(*args, **kwargs)
        if studio is not None:
            self.fields["class_type"].queryset = ClassType.objects.filter(studio=studio)
            self.fields["instructor"].queryset = Instructor.objects.filter(studio=studio)


class InventorySerializer(StrictModelSerializer):
    class Meta:
        model = ClassSession
        fields = ["capacity", "network_spots", "studio_booked"]
        extra_kwargs = {
            name: {"required": False, "min_value": 0, "max_value": 1000} for name in fields
        }


SESSION_EXAMPLE = {
    "id": 1301,
    "class_type": 12,
    "instructor": 4,
    "starts_at": "2026-11-27T11:30:00Z",
    "duration_minutes": 45,
    "capacity": 20,
    "network_spots": 8,
    "studio_booked": 4,
    "network_booked": 8,
    "premium_booked": 1,
    "credit_price": 11,
    "status": "scheduled",
}


class PartnerSessionsView(ListModelMixin, PartnerAPIView):
    permission = "schedule"
    serializer_class = PartnerSessionSerializer

    def get_queryset(self):
        return selectors.upcoming_sessions(self.studio)

    @extend_schema(
        summary="The studio's classes of the next 14 days",
        examples=[
            OpenApiExample(
                "One",
                value=SESSION_EXAMPLE,  # one item: the schema wraps it in a page
                response_only=True,
            )
        ],
    )
    def get(self, request, studio_slug: str):
        return self.list(request)

    @extend_schema(
        summary="Add a one-off class",
        examples=[
            OpenApiExample(
                "A workshop",
                value={
                    "class_type": 12,
                    "starts_at": "2026-12-05T17:00:00Z",
                    "duration_minutes": 90,
                    "capacity": 16,
                    "network_spots": 6,
                    "studio_booked": 0,
                    "credit_price": 14,
                },
                request_only=True,
            ),
            OpenApiExample(
                "Created", value=SESSION_EXAMPLE, response_only=True, status_codes=["201"]
            ),
        ],
        responses={201: PartnerSessionSerializer},
    )
    def post(self, request, studio_slug: str):
        body = PartnerSessionSerializer(data=request.data, studio=self.studio)
        body.is_valid(raise_exception=True)
        session = services.create_session(self.studio, by=request.user, **body.validated_data)
        return Response(PartnerSessionSerializer(session).data, status=status.HTTP_201_CREATED)


class PartnerSessionView(PartnerAPIView):
    permission = "schedule"
    serializer_class = InventorySerializer

    @extend_schema(
        summary="Sync a class's inventory (room, network spots, the studio's own bookings)",
        description="The endpoint a studio's booking software calls when people book at the desk. "
        "Send only what changes: a field left out keeps the class's value at the moment of the "
        "change, whatever else changed it meanwhile. "
        "Refused with 422 (and why) when more people would be booked than the room holds.",
        request=InventorySerializer,
        responses=PartnerSessionSerializer,
        examples=[
            OpenApiExample("Six booked at the desk", value={"studio_booked": 6}, request_only=True),
            OpenApiExample(
                "Saved", value={**SESSION_EXAMPLE, "studio_booked": 6}, response_only=True
            ),
        ],
    )
    def patch(self, request, studio_slug: str, session_id: int):
        session = selectors.session_for_studio(self.studio, session_id)
        if session is None:
            raise NotFound("No such class.")
        body = InventorySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        # Only the fields sent: the others keep their values under the class's row lock.
        saved = services.update_session(
            self.studio, session.pk, by=request.user, **body.validated_data
        )
        return Response(PartnerSessionSerializer(saved).data)


class ScheduleSerializer(StrictModelSerializer):
    """A recurring slot, with the bounds of the schedule page's form."""

    class_type = serializers.PrimaryKeyRelatedField(queryset=ClassType.objects.none())
    instructor = serializers.PrimaryKeyRelatedField(
        queryset=Instructor.objects.none(), allow_null=True, required=False
    )
    weekdays = serializers.ListField(
        child=serializers.IntegerField(min_value=0, max_value=6),
        min_length=1,
        max_length=7,
        help_text="Days of the week it runs: 0 is Monday, 6 Sunday.",
    )
    local_start_time = serializers.TimeField(help_text="In the studio's time zone.")
    duration_minutes = serializers.IntegerField(min_value=5, max_value=600)
    capacity = serializers.IntegerField(min_value=1, max_value=1000)
    network_spots = serializers.IntegerField(min_value=0, max_value=1000)
    credit_price = serializers.IntegerField(min_value=1, max_value=200)
    ends_on = serializers.DateField(allow_null=True, required=False)

    class Meta:
        model = Schedule
        fields = ["id", *services.SCHEDULE_FIELDS]
        read_only_fields = ["id"]

    def __init__(self, *args, studio=None, **kwargs):
        super().__init__(*args, **kwargs)
        if studio is not None:  # another studio's class type or instructor is no such id
            self.fields["class_type"].queryset = ClassType.objects.filter(studio=studio)
            self.fields["instructor"].queryset = Instructor.objects.filter(studio=studio)

    def validate_weekdays(self, days: list[int]) -> list[int]:
        return sorted(set(days))


class ScheduleChangeSerializer(serializers.Serializer):
    schedule = ScheduleSerializer()
    classes_updated = serializers.IntegerField(help_text="Upcoming classes that took the change.")
    kept = serializers.ListField(
        child=serializers.CharField(),
        help_text="Upcoming classes that did not, and why: booked ones keep their old time, "
        "and a value set on one class alone (a bigger room for a day, a substitute) stays.",
    )


class EndScheduleSerializer(RejectUnknownFields, serializers.Serializer):
    ends_on = serializers.DateField(help_text="The last day it runs.")


class EndedScheduleSerializer(serializers.Serializer):
    schedule = ScheduleSerializer()
    classes_removed = serializers.IntegerField(
        help_text="Unbooked classes after the last day, removed. Booked ones stay until the "
        "studio cancels them."
    )


SCHEDULE_EXAMPLE = {
    "id": 31,
    "class_type": 12,
    "instructor": 4,
    "weekdays": [0, 2, 4],
    "local_start_time": "18:30:00",
    "duration_minutes": 60,
    "capacity": 20,
    "network_spots": 8,
    "credit_price": 11,
    "starts_on": "2026-12-01",
    "ends_on": None,
}


class PartnerSchedulesView(ListModelMixin, PartnerAPIView):
    permission = "schedule"
    serializer_class = ScheduleSerializer

    def get_queryset(self):
        return selectors.schedules(self.studio)

    @extend_schema(
        summary="The studio's recurring schedules, ended ones too",
        examples=[OpenApiExample("One", value=SCHEDULE_EXAMPLE, response_only=True)],
    )
    def get(self, request, studio_slug: str):
        return self.list(request)

    @extend_schema(
        summary="Add a recurring schedule",
        description="Its classes are generated ahead and go on sale, as from the schedule "
        "page. Refused with 422 and the fields for what the page refuses: a retired class type "
        "or instructor, more network spots than the room, a start time the clocks skip, dates "
        "too far ahead.",
        request=ScheduleSerializer,
        responses={201: ScheduleSerializer, 400: ErrorSerializer, 422: ErrorSerializer},
        examples=[
            OpenApiExample(
                "Evenings, Monday Wednesday Friday",
                value={k: v for k, v in SCHEDULE_EXAMPLE.items() if k != "id"},
                request_only=True,
            ),
            OpenApiExample(
                "Created", value=SCHEDULE_EXAMPLE, response_only=True, status_codes=["201"]
            ),
        ],
    )
    def post(self, request, studio_slug: str):
        body = ScheduleSerializer(data=request.data, studio=self.studio)
        body.is_valid(raise_exception=True)
        values = {"instructor": None, "ends_on": None, **body.validated_data}
        schedule = services.create_schedule(self.studio, by=request.user, **values)
        return Response(ScheduleSerializer(schedule).data, status=status.HTTP_201_CREATED)


class PartnerScheduleAPIView(PartnerAPIView):
    permission = "schedule"

    def schedule(self, schedule_id: int) -> Schedule:
        item = selectors.schedule_for_studio(self.studio, schedule_id)
        if item is None:
            raise NotFound("No such schedule.")
        return item


class PartnerScheduleView(PartnerScheduleAPIView):
    serializer_class = ScheduleSerializer

    @extend_schema(
        summary="One recurring schedule",
        examples=[
            OpenApiExample("One", value=SCHEDULE_EXAMPLE, response_only=True),
            error_example("Not this studio's", 404, "not_found", "No such schedule."),
        ],
        responses={200: ScheduleSerializer, 404: ErrorSerializer},
    )
    def get(self, request, studio_slug: str, schedule_id: int):
        return Response(ScheduleSerializer(self.schedule(schedule_id)).data)

    @extend_schema(
        summary="Change a recurring schedule from now on",
        description="Send only what changes. As on the schedule page, the upcoming classes "
        "take the change where they still had the schedule's old value; a new day or time "
        "moves the unbooked ones, and `kept` lists the classes that did not change, and why.",
        request=ScheduleSerializer,
        responses={200: ScheduleChangeSerializer, 400: ErrorSerializer, 422: ErrorSerializer},
        examples=[
            OpenApiExample("A bigger room", value={"capacity": 24}, request_only=True),
            OpenApiExample(
                "Saved",
                value={
                    "schedule": {**SCHEDULE_EXAMPLE, "capacity": 24},
                    "classes_updated": 5,
                    "kept": ["Mon 7 Dec 18:30 keeps its own room of 16."],
                },
                response_only=True,
            ),
        ],
    )
    def patch(self, request, studio_slug: str, schedule_id: int):
        item = self.schedule(schedule_id)
        body = ScheduleSerializer(data=request.data, studio=self.studio, partial=True)
        body.is_valid(raise_exception=True)
        change = services.update_schedule(item, by=request.user, **body.validated_data)
        return Response(
            {
                "schedule": ScheduleSerializer(change.schedule).data,
                "classes_updated": change.updated,
                "kept": change.kept,
            }
        )


class PartnerScheduleEndView(PartnerScheduleAPIView):
    serializer_class = EndScheduleSerializer

    @extend_schema(
        summary="End a recurring schedule after a day",
        request=EndScheduleSerializer,
        responses={200: EndedScheduleSerializer, 400: ErrorSerializer, 422: ErrorSerializer},
        examples=[
            OpenApiExample(
                "Last class at Christmas", value={"ends_on": "2026-12-24"}, request_only=True
            ),
            OpenApiExample(
                "Ended",
                value={
                    "schedule": {**SCHEDULE_EXAMPLE, "ends_on": "2026-12-24"},
                    "classes_removed": 9,
                },
                response_only=True,
            ),
        ],
    )
    def post(self, request, studio_slug: str, schedule_id: int):
        item = self.schedule(schedule_id)
        body = EndScheduleSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        removed = services.end_schedule(item, by=request.user, **body.validated_data)
        return Response({"schedule": ScheduleSerializer(item).data, "classes_removed": removed})


class StudioSettingsSerializer(RejectUnknownFields, serializers.Serializer):
    """The settings page's fields, with its bounds."""

    monthly_visit_limit = serializers.IntegerField(
        min_value=1, max_value=31, help_text="Standard visits per member per cycle of their plan."
    )
    cancellation_window_hours = serializers.IntegerField(
        min_value=0, max_value=168, help_text="Cancelling is free up to this many hours before."
    )
    booking_cutoff_minutes = serializers.IntegerField(
        min_value=0, max_value=1440, help_text="Booking closes this many minutes before class."
    )
    payout_rate_cents = serializers.IntegerField(
        min_value=1,
        max_value=1_000_000,  # 10,000 in major units, as the page allows
        help_text="What a standard visit earns the studio, in minor units of `currency`.",
    )
    currency = serializers.CharField(source="market.currency", read_only=True)
    address = serializers.CharField(max_length=255, allow_blank=True)
    description = serializers.CharField(max_length=4000, allow_blank=True)


SETTINGS_EXAMPLE = {
    "monthly_visit_limit": 3,
    "cancellation_window_hours": 12,
    "booking_cutoff_minutes": 5,
    "payout_rate_cents": 1400,
    "currency": "USD",
    "address": "12 Spring St, New York",
    "description": "Vinyasa and yin in a quiet loft.",
}


class PartnerSettingsView(PartnerAPIView):
    permission = "inventory"
    serializer_class = StudioSettingsSerializer

    @extend_schema(
        summary="The studio's settings and the profile members read",
        examples=[OpenApiExample("Settings", value=SETTINGS_EXAMPLE, response_only=True)],
    )
    def get(self, request, studio_slug: str):
        return Response(StudioSettingsSerializer(self.studio).data)

    @extend_schema(
        summary="Change the studio's settings or profile",
        description="Send only what changes; each change is in the audit log, as from the "
        "settings page. A new payout rate applies to visits booked from then on.",
        request=StudioSettingsSerializer,
        responses={200: StudioSettingsSerializer, 400: ErrorSerializer},
        examples=[
            OpenApiExample(
                "Four visits a cycle", value={"monthly_visit_limit": 4}, request_only=True
            ),
            OpenApiExample(
                "Saved", value={**SETTINGS_EXAMPLE, "monthly_visit_limit": 4}, response_only=True
            ),
        ],
    )
    def patch(self, request, studio_slug: str):
        body = StudioSettingsSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        values = body.validated_data
        studio = services.update_settings(
            self.studio,
            by=request.user,
            **{k: v for k, v in values.items() if k in services.INVENTORY_SETTINGS},
        )
        studio = services.update_profile(
            studio,
            by=request.user,
            **{k: v for k, v in values.items() if k in services.PROFILE_FIELDS},
        )
        return Response(StudioSettingsSerializer(studio).data)


class AuditEntrySerializer(serializers.ModelSerializer):
    user = serializers.EmailField(source="user.email", default=None, allow_null=True)
    target = serializers.CharField(
        help_text='What changed, as stored: "schedule:12", "session:345", "class type:Reformer"; '
        "empty for the studio's own settings."
    )
    before = serializers.DictField(help_text="The changed fields' values before.")
    after = serializers.DictField(help_text="The same fields' values after.")

    class Meta:
        model = AuditEntry
        fields = ["id", "created_at", "user", "action", "target", "before", "after"]


AUDIT_EXAMPLE = {
    "id": 412,
    "created_at": "2026-11-26T16:02:11Z",
    "user": "owner@example.com",
    "action": "schedule changed",
    "target": "schedule:12",
    "before": {"network_spots": 6},
    "after": {"network_spots": 8},
}


class PartnerAuditView(ListModelMixin, PartnerAPIView):
    permission = "audit"
    serializer_class = AuditEntrySerializer

    def get_queryset(self):
        return selectors.audit_log(self.studio)

    @extend_schema(
        summary="The studio's audit log, newest first: who changed what, from what to what",
        description="Every change to the studio's settings and profile, schedules, classes, "
        "class types and instructors, team and Premium, made on the dashboard or over the API.",
        examples=[OpenApiExample("One", value=AUDIT_EXAMPLE, response_only=True)],
    )
    def get(self, request, studio_slug: str):
        return self.list(request)


class EarningSerializer(serializers.ModelSerializer):
    class Meta:
        model = EarningEntry
        fields = [
            "id",
            "occurred_at",
            "kind",
            "amount_cents",
            "currency",
            "session",
            "reference",
            "description",
        ]


class PartnerEarningsView(ListModelMixin, PartnerAPIView):
    permission = "reports"
    serializer_class = EarningSerializer

    @extend_schema(
        summary="Earnings ledger entries of a month",
        parameters=[
            OpenApiParameter(
                "month",
                str,
                pattern=r"^[0-9]{4}-[0-9]{2}$",
                description="YYYY-MM, studio time, from 2020-01 to this month; default this month.",
            )
        ],
        examples=[
            OpenApiExample(
                "One",
                value={  # one entry: the schema wraps it in a page
                    "id": 9,
                    "occurred_at": "2026-11-20T12:50:00Z",
                    "kind": "reservation",
                    "amount_cents": 1600,
                    "currency": "USD",
                    "session": 1301,
                    "reference": "reservation:5012",
                    "description": "Standard · Attended",
                },
                response_only=True,
            )
        ],
    )
    def get(self, request, studio_slug: str):
        return self.list(request)

    def get_queryset(self):
        raw = self.request.query_params.get("month")
        year, month = selectors.current_month(self.studio)
        if raw:
            try:
                year, month = (int(x) for x in raw.split("-"))
            except ValueError:
                raise ValidationError({"month": ["Use YYYY-MM."]}) from None
            if not selectors.is_statement_month(self.studio, year, month):
                first = "{}-{:02d}".format(*selectors.FIRST_STATEMENT_MONTH)
                raise ValidationError(
                    {"month": [f"Use YYYY-MM, a month from {first} to this month."]}
                )
        return selectors.earnings_in_month(self.studio, year, month)


# --- the catalog: class types and instructors ---------------------------------------------


class ClassTypeSerializer(StrictModelSerializer):
    class Meta:
        model = ClassType
        fields = ["id", "name", "category", "duration_minutes", "description", "is_active"]
        read_only_fields = ["id"]
        extra_kwargs = {
            "duration_minutes": {"min_value": 5, "max_value": 600},
            "description": {"max_length": 2000},
        }
        # Names are unique per studio whatever their case: the service says so, by field.
        validators = []


class InstructorSerializer(StrictModelSerializer):
    class Meta:
        model = Instructor
        fields = ["id", "name", "bio", "is_active"]
        read_only_fields = ["id"]
        extra_kwargs = {"bio": {"max_length": 2000}}


CLASS_TYPE_EXAMPLE = {
    "id": 12,
    "name": "Vinyasa Flow",
    "category": "yoga",
    "duration_minutes": 60,
    "description": "A steady flow for every level.",
    "is_active": True,
}
INSTRUCTOR_EXAMPLE = {"id": 4, "name": "Ana Ruiz", "bio": "", "is_active": True}


class CatalogAPIView(PartnerAPIView):
    """The class type and instructor endpoints: what the catalog page does, for integrations.

    `is_active: false` retires one (no longer offered for new schedules and classes; what uses
    it keeps it), `true` brings it back; the other fields go through the same service as the
    page's form, with its rules (a name unique per studio, whatever its case) and its audit.
    """

    permission = "schedule"
    model: type[ClassType] | type[Instructor]
    save_name: str  # the service that adds or changes one
    id_key: str  # its keyword for the one to change

    def get_queryset(self):
        return self.model.objects.filter(studio=self.studio).order_by("name")

    def item(self, item_id: int):
        item = selectors.catalog_item(self.studio, self.model, item_id)
        if item is None:
            raise NotFound(f"No such {self.model._meta.verbose_name}.")
        return item

    def write(self, request, item=None):
        body = self.get_serializer(data=request.data, partial=item is not None)
        body.is_valid(raise_exception=True)
        values = dict(body.validated_data)
        active = values.pop("is_active", None)
        save = getattr(services, self.save_name)
        if item is None:
            item = save(self.studio, by=request.user, **values)
        elif values:  # a partial change: the rest keeps its values under the row lock
            item = save(self.studio, by=request.user, **{self.id_key: item.pk}, **values)
        if active is not None and active != item.is_active:
            services.set_retired(
                self.studio, self.model, item.pk, retired=not active, by=request.user
            )
            item.is_active = active
        return Response(self.get_serializer(item).data)


class CatalogListView(ListModelMixin, CatalogAPIView):
    def get(self, request, studio_slug: str):
        return self.list(request)

    def post(self, request, studio_slug: str):
        response = self.write(request)
        response.status_code = status.HTTP_201_CREATED
        return response


class CatalogItemView(CatalogAPIView):
    def get(self, request, studio_slug: str, **ids):
        return Response(self.get_serializer(self.item(ids[self.id_key])).data)

    def patch(self, request, studio_slug: str, **ids):
        return self.write(request, self.item(ids[self.id_key]))


class ClassTypes:
    model = ClassType
    serializer_class = ClassTypeSerializer
    save_name = "save_class_type"
    id_key = "class_type_id"


class Instructors:
    model = Instructor
    serializer_class = InstructorSerializer
    save_name = "save_instructor"
    id_key = "instructor_id"


def _one(example: dict) -> list:
    return [OpenApiExample("One", value=example, response_only=True)]


def _added(example: dict, sent: dict) -> list:
    return [
        OpenApiExample("Add", value=sent, request_only=True),
        OpenApiExample("Added", value=example, response_only=True, status_codes=["201"]),
    ]


@extend_schema_view(
    get=extend_schema(
        summary="The studio's class types, retired ones too", examples=_one(CLASS_TYPE_EXAMPLE)
    ),
    post=extend_schema(
        summary="Add a class type",
        responses={201: ClassTypeSerializer},
        examples=_added(
            CLASS_TYPE_EXAMPLE,
            {k: v for k, v in CLASS_TYPE_EXAMPLE.items() if k not in ("id", "is_active")},
        ),
    ),
)
class ClassTypesView(ClassTypes, CatalogListView):
    pass


@extend_schema_view(
    get=extend_schema(summary="One class type", examples=_one(CLASS_TYPE_EXAMPLE)),
    patch=extend_schema(
        summary="Change a class type, or retire it (is_active: false) or bring it back",
        examples=[
            OpenApiExample("Retire", value={"is_active": False}, request_only=True),
            OpenApiExample("Longer", value={"duration_minutes": 75}, request_only=True),
        ],
    ),
)
class ClassTypeView(ClassTypes, CatalogItemView):
    pass


@extend_schema_view(
    get=extend_schema(
        summary="The studio's instructors, retired ones too", examples=_one(INSTRUCTOR_EXAMPLE)
    ),
    post=extend_schema(
        summary="Add an instructor",
        responses={201: InstructorSerializer},
        examples=_added(INSTRUCTOR_EXAMPLE, {"name": "Ana Ruiz", "bio": ""}),
    ),
)
class InstructorsView(Instructors, CatalogListView):
    pass


@extend_schema_view(
    get=extend_schema(summary="One instructor", examples=_one(INSTRUCTOR_EXAMPLE)),
    patch=extend_schema(
        summary="Change an instructor, or retire one (is_active: false) or bring one back",
        examples=[OpenApiExample("Retire", value={"is_active": False}, request_only=True)],
    ),
)
class InstructorView(Instructors, CatalogItemView):
    pass


# --- the team ------------------------------------------------------------------------------


class TeamMemberSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.EmailField(source="user.email")
    name = serializers.CharField(source="user.get_full_name")
    role = serializers.ChoiceField(choices=StaffRole.choices)
    added_at = serializers.DateTimeField(source="created_at")


class AddTeamMemberSerializer(RejectUnknownFields, serializers.Serializer):
    email = serializers.CharField(max_length=254)
    role = serializers.ChoiceField(choices=StaffRole.choices)


class RoleSerializer(RejectUnknownFields, serializers.Serializer):
    role = serializers.ChoiceField(choices=StaffRole.choices)


TEAM_MEMBER_EXAMPLE = {
    "id": 31,
    "email": "desk@studio.example",
    "name": "Sam Lee",
    "role": "front_desk",
    "added_at": "2026-11-26T09:12:03Z",
}


class TeamAPIView(PartnerAPIView):
    """The team page's list and actions, for the owners' own tools: the same services, with
    their rules (a studio keeps an owner; someone new gets an e-mail to set a password) and
    their audit."""

    permission = "team"
    serializer_class = TeamMemberSerializer

    def member(self, membership_id: int):
        found = selectors.team_member(self.studio, membership_id)
        if found is None:
            raise NotFound("No such team member.")
        return found


@extend_schema_view(
    get=extend_schema(
        summary="The studio's team: owners, then managers, then the front desk",
        examples=_one(TEAM_MEMBER_EXAMPLE),
    ),
    post=extend_schema(
        summary="Add someone to the team by e-mail (owners only)",
        request=AddTeamMemberSerializer,
        responses={201: TeamMemberSerializer},
        examples=_added(
            TEAM_MEMBER_EXAMPLE, {"email": "desk@studio.example", "role": "front_desk"}
        ),
    ),
)
class TeamView(ListModelMixin, TeamAPIView):
    def get_queryset(self):
        return selectors.team(self.studio)

    def get(self, request, studio_slug: str):
        return self.list(request)

    def post(self, request, studio_slug: str):
        body = AddTeamMemberSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        membership = services.add_staff(self.studio, by=request.user, **body.validated_data)
        return Response(self.get_serializer(membership).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    get=extend_schema(summary="One member of the team", examples=_one(TEAM_MEMBER_EXAMPLE)),
    patch=extend_schema(
        summary="Change a team member's role (the studio keeps at least one owner)",
        request=RoleSerializer,
        examples=[OpenApiExample("Manager", value={"role": "manager"}, request_only=True)],
    ),
    delete=extend_schema(
        summary="Take someone off the team (the studio keeps at least one owner)",
        responses={204: None, 422: ErrorSerializer},
        examples=[
            error_example(
                "The last owner",
                422,
                "inventory_error",
                "A studio keeps at least one owner: make someone else owner first.",
            )
        ],
    ),
)
class TeamMemberView(TeamAPIView):
    def get(self, request, studio_slug: str, membership_id: int):
        return Response(self.get_serializer(self.member(membership_id)).data)

    def patch(self, request, studio_slug: str, membership_id: int):
        body = RoleSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            services.change_role(
                self.studio, membership_id, role=body.validated_data["role"], by=request.user
            )
        except StaffMembership.DoesNotExist:
            raise NotFound("No such team member.") from None
        return Response(self.get_serializer(self.member(membership_id)).data)

    def delete(self, request, studio_slug: str, membership_id: int):
        try:
            services.remove_staff(self.studio, membership_id, by=request.user)
        except StaffMembership.DoesNotExist:
            raise NotFound("No such team member.") from None
        return Response(status=status.HTTP_204_NO_CONTENT)
