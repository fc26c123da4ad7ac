"""Every write about studios: settings, the team, schedules, class inventory, the earnings
ledger."""

import secrets
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import IntegrityError, models, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.module_loading import import_string

from . import outbox
from .errors import InventoryError
from .models import (
    PLANNING_YEARS,
    AuditEntry,
    ClassSession,
    ClassType,
    EarningEntry,
    EarningKind,
    Instructor,
    Schedule,
    SessionStatus,
    StaffMembership,
    StaffRole,
    Studio,
    latest_plannable_day,
)
from .templatetags.money import format_credits


def local_to_utc(day: date, at, tz: ZoneInfo) -> datetime:
    """The UTC instant of a studio-local wall time.

    A wall time that does not exist (the spring-forward gap) moves forward by the gap, as a
    wall clock would show it; an ambiguous one (the fall-back hour) takes its first occurrence.
    """
    # With fold=0, zoneinfo reads a wall time in the gap with the offset in force before the
    # change (so 02:30 becomes 03:30 after it) and an ambiguous one as its first occurrence.
    return datetime.combine(day, at, tzinfo=tz).replace(fold=0).astimezone(UTC)


def sessions_for_schedule(schedule: Schedule, *, start: date, end: date) -> list[ClassSession]:
    """Unsaved sessions of `schedule` for each matching local day in [start, end)."""
    tz = schedule.studio.market.tzinfo
    first = max(start, schedule.starts_on)
    # The day after ends_on only when it falls before `end` (it need not exist otherwise).
    last = (
        schedule.ends_on + timedelta(days=1) if schedule.ends_on and schedule.ends_on < end else end
    )
    weekdays = set(schedule.weekdays)
    result = []
    day = first
    while day < last:
        if day.weekday() in weekdays:
            result.append(
                ClassSession(
                    studio_id=schedule.studio_id,
                    schedule=schedule,
                    class_type_id=schedule.class_type_id,
                    instructor_id=schedule.instructor_id,
                    starts_at=local_to_utc(day, schedule.local_start_time, tz),
                    duration_minutes=schedule.duration_minutes,
                    capacity=schedule.capacity,
                    network_spots=schedule.network_spots,
                    credit_price=schedule.credit_price,
                )
            )
        day += timedelta(days=1)
    return result


def generate_sessions(
    *,
    start: date | None = None,
    weeks: int | None = None,
    schedules=None,
    past: bool = False,
    batch_size: int = 2000,
) -> int:
    """Create the sessions of every schedule from `start` for `weeks` weeks. Idempotent.

    Existing sessions are never touched (one per schedule and start instant, enforced by a
    unique constraint), so a rerun, or two overlapping runs, add nothing twice. A class that
    would already have started is not created (a schedule made or moved at noon gets no
    class at 9 that morning), unless `past` (demo data and benchmarks seed history with it).
    Returns how many sessions were created.
    """
    now = timezone.now()
    start = start or timezone.localdate()
    weeks = settings.SESSION_GENERATION_WEEKS if weeks is None else weeks
    end = start + timedelta(weeks=weeks)
    queryset = schedules if schedules is not None else Schedule.objects.all()
    queryset = (
        queryset.filter(starts_on__lt=end)
        .exclude(ends_on__lt=start)
        .select_related("studio__market")
    )
    created = 0
    pending: list[ClassSession] = []

    def flush() -> int:
        # ignore_conflicts skips slots generated before; count what is really new.
        before = ClassSession.objects.filter(schedule__in={s.schedule_id for s in pending}).count()
        with transaction.atomic():
            ClassSession.objects.bulk_create(pending, ignore_conflicts=True, batch_size=batch_size)
        after = ClassSession.objects.filter(schedule__in={s.schedule_id for s in pending}).count()
        pending.clear()
        return after - before

    for schedule in queryset.iterator(chunk_size=500):
        sessions = sessions_for_schedule(schedule, start=start, end=end)
        pending.extend(sessions if past else [s for s in sessions if s.starts_at > now])
        if len(pending) >= batch_size:
            created += flush()
    if pending:
        created += flush()
    return created


def record_earning(
    studio: Studio,
    *,
    kind: str,
    amount_cents: int,
    occurred_at: datetime,
    reference: str,
    session: ClassSession | None = None,
    description: str = "",
    by=None,
) -> EarningEntry:
    """Append one entry to a studio's earnings ledger, once per reference (idempotent)."""
    entry, _ = EarningEntry.objects.get_or_create(
        reference=reference,
        defaults={
            "studio": studio,
            "kind": kind,
            "amount_cents": amount_cents,
            "currency": studio.market.currency,
            "occurred_at": occurred_at,
            "session": session,
            "description": description,
            "created_by": by,
        },
    )
    return entry


def record_earnings_bulk(rows: list[dict]) -> None:
    """Append many entries at once; references already on the ledger are skipped."""
    EarningEntry.objects.bulk_create(
        [EarningEntry(currency=row["studio"].market.currency, **row) for row in rows],
        ignore_conflicts=True,
    )


def adjust_earnings(
    studio: Studio, *, amount_cents: int, description: str, by=None
) -> EarningEntry:
    """An admin's correction to a studio's ledger, as a new signed entry with a reason."""
    if amount_cents == 0:
        raise ValueError("An adjustment moves at least one cent.")
    if not description.strip():
        raise ValueError("Say why the studio's earnings are adjusted.")
    return EarningEntry.objects.create(
        studio=studio,
        kind=EarningKind.ADJUSTMENT,
        amount_cents=amount_cents,
        currency=studio.market.currency,
        occurred_at=timezone.now(),
        description=description.strip(),
        created_by=by,
    )


# --- settings and audit --------------------------------------------------------------------

INVENTORY_SETTINGS = (
    "monthly_visit_limit",
    "cancellation_window_hours",
    "booking_cutoff_minutes",
    "payout_rate_cents",
)


def _audit(studio: Studio, *, by, action: str, target: str = "", before: dict, after: dict) -> None:
    changed = {k for k in after if before.get(k) != after.get(k)}
    if changed:
        AuditEntry.objects.create(
            studio=studio,
            user=by,
            action=action,
            target=target,
            before={k: before.get(k) for k in changed},
            after={k: after[k] for k in changed},
        )


def update_settings(studio: Studio, *, by, **values) -> Studio:
    """Change a studio's inventory settings; every change is audited (who, when, before, after)."""
    unknown = set(values) - set(INVENTORY_SETTINGS)
    if unknown:
        raise InventoryError(f"Unknown settings: {', '.join(sorted(unknown))}.")
    if not values:  # nothing changed: nothing to save or audit
        return studio
    with transaction.atomic(durable=True):
        locked = Studio.objects.select_for_update().get(pk=studio.pk)
        before = {k: getattr(locked, k) for k in values}
        for key, value in values.items():
            setattr(locked, key, value)
        locked.full_clean(exclude=["market", "slug", "name", "categories"])
        locked.save(update_fields=list(values))
        _audit(locked, by=by, action="settings", before=before, after=values)
    for key, value in values.items():
        setattr(studio, key, value)
    return studio


PROFILE_FIELDS = ("address", "description")


def update_profile(studio: Studio, *, by, **values) -> Studio:
    """Change what members read about the studio (address, description); audited."""
    unknown = set(values) - set(PROFILE_FIELDS)
    if unknown:
        raise InventoryError(f"Unknown fields: {', '.join(sorted(unknown))}.")
    values = {key: value.strip() for key, value in values.items()}
    if not values:
        return studio
    with transaction.atomic(durable=True):
        locked = Studio.objects.select_for_update().get(pk=studio.pk)
        before = {key: getattr(locked, key) for key in values}
        for key, value in values.items():
            setattr(locked, key, value)
        locked.save(update_fields=list(values))
        _audit(locked, by=by, action="profile", before=before, after=values)
    for key, value in values.items():
        setattr(studio, key, value)
    return studio


# --- the team ------------------------------------------------------------------------------


def add_staff(studio: Studio, *, email: str, role: str, by) -> StaffMembership:
    """Give the person with this e-mail a role at the studio (owners do this; audited).

    Someone without an account gets one, with a random password, and an e-mail with a link to
    choose theirs (the password reset page); someone with an account, an e-mail with the
    dashboard's address. The e-mail is an outbox message: sent once the change commits.
    """
    email = email.strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise InventoryError(fields={"email": "Enter an e-mail address."}) from None
    if role not in StaffRole.values:
        raise InventoryError(fields={"role": "Pick a role."})
    User = get_user_model()
    try:
        with transaction.atomic(durable=True):
            user = User.objects.filter(username__iexact=email).first()  # e-mails
            invited = user is None
            if invited:  # a password nobody knows: the link sets theirs, as a reset would
                user = User.objects.create_user(
                    username=email, email=email, password=secrets.token_urlsafe(32)
                )
            membership = StaffMembership.objects.create(user=user, studio=studio, role=role)
            _audit(
                studio, by=by, action="staff added", target=email, before={}, after={"role": role}
            )
            outbox.publish(
                "studios.services.send_team_email",
                membership.pk,
                invited,
                getattr(by, "email", "") or "",
            )
    except IntegrityError:  # already on the team, or added by someone else meanwhile
        held = StaffMembership.objects.filter(studio=studio, user__username__iexact=email).first()
        label = f" ({held.get_role_display().lower()})" if held else ""
        raise InventoryError(fields={"email": f"{email} is already on the team{label}."}) from None
    return membership


def change_role(studio: Studio, membership_id: int, *, role: str, by) -> StaffMembership:
    if role not in StaffRole.values:
        raise InventoryError(fields={"role": "Pick a role."})
    with transaction.atomic(durable=True):
        membership = _lock_team_member(studio, membership_id)
        if membership.role == StaffRole.OWNER and role != StaffRole.OWNER:
            _keep_an_owner(studio)
        before = {"role": membership.role}
        membership.role = role
        membership.save(update_fields=["role"])
        _audit(
            studio,
            by=by,
            action="staff role",
            target=membership.user.email,
            before=before,
            after={"role": role},
        )
    return membership


def remove_staff(studio: Studio, membership_id: int, *, by) -> None:
    with transaction.atomic(durable=True):
        membership = _lock_team_member(studio, membership_id)
        if membership.role == StaffRole.OWNER:
            _keep_an_owner(studio)
        membership.delete()
        _audit(
            studio,
            by=by,
            action="staff removed",
            target=membership.user.email,
            before={"role": membership.role},
            after={"role": None},
        )


def _lock_team_member(studio: Studio, membership_id: int) -> StaffMembership:
    """Lock the studio's owners (primary-key order), then the member of the team. Two owners
    demoting each other at once queue on the same rows, so one of them stays an owner."""
    list(
        StaffMembership.objects.select_for_update()
        .filter(studio=studio, role=StaffRole.OWNER)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    membership = (
        StaffMembership.objects.select_for_update(of=("self",))
        .select_related("user")
        .filter(studio=studio, pk=membership_id)
        .first()
    )
    if membership is None:
        raise StaffMembership.DoesNotExist(f"No team member {membership_id} at {studio}.")
    return membership


def _keep_an_owner(studio: Studio) -> None:
    """Refuse a change that would leave the studio without an owner. Hold the owners' locks."""
    if StaffMembership.objects.filter(studio=studio, role=StaffRole.OWNER).count() <= 1:
        raise InventoryError("A studio keeps at least one owner: make someone else owner first.")


def send_team_email(membership_id: int, invited: bool, by_email: str) -> bool:
    """The outbox handler of an addition to a team. A new account gets its link to choose a
    password, an existing one the dashboard's address. A mail failure raises, so the outbox
    tries again; someone removed before it went out is not e-mailed."""
    membership = (
        StaffMembership.objects.select_related("user", "studio").filter(pk=membership_id).first()
    )
    if membership is None or not membership.user.email:
        return False
    user, studio = membership.user, membership.studio
    site = settings.SITE_URL.rstrip("/")
    who = by_email or "The studio"
    role = membership.get_role_display().lower()
    if invited:
        token = default_token_generator.make_token(user)
        link = site + reverse(
            "members:password_reset_confirm",
            args=[urlsafe_base64_encode(force_bytes(user.pk)), token],
        )
        body = (
            f"{who} added you to the team of {studio.name} on classpass, as {role}.\n\n"
            f"Choose your password here to open the Partner Dashboard:\n{link}\n\n"
            "The link works once. If it has expired, use 'Forgot your password?' on the log-in "
            "page."
        )
    else:
        dashboard = site + reverse("partner:overview", args=[studio.slug])
        body = (
            f"{who} added you to the team of {studio.name} on classpass, as {role}.\n\n"
            f"Log in with your usual e-mail and password to open its Partner Dashboard:\n"
            f"{dashboard}\n"
        )
    # One line whatever the studio's name holds: a line break in a header makes sending fail.
    subject = " ".join(f"You're on the team at {studio.name}".split())
    send_mail(subject, body, None, [user.email])
    return True


# --- class types and instructors ------------------------------------------------------------


def save_class_type(studio: Studio, *, by, class_type_id: int | None = None, **values) -> ClassType:
    """Add a class type to the studio, or change one of its own (name, category, minutes,
    description); a change passes only what changes. Names are unique per studio, whatever
    their case. Audited."""
    return _save_named(studio, ClassType, class_type_id, by=by, **values)


def save_instructor(
    studio: Studio, *, by, instructor_id: int | None = None, **values
) -> Instructor:
    """Add an instructor to the studio, or change one of its own (name, bio); a change passes
    only what changes. Audited."""
    return _save_named(studio, Instructor, instructor_id, by=by, **values)


def set_retired(studio: Studio, model, pk: int, *, retired: bool, by) -> None:
    """Retire a class type or instructor of the studio (no longer offered for new schedules
    and classes; what already uses it keeps it), or bring it back. Audited."""
    with transaction.atomic(durable=True):
        item = model.objects.select_for_update().filter(studio=studio, pk=pk).first()
        if item is None:
            raise model.DoesNotExist(f"No {model._meta.verbose_name} {pk} at {studio}.")
        before = {"is_active": item.is_active}
        item.is_active = not retired
        item.save(update_fields=["is_active"])
        _audit(
            studio,
            by=by,
            action=model._meta.verbose_name,
            target=item.name,
            before=before,
            after={"is_active": item.is_active},
        )


def _save_named(studio: Studio, model, pk: int | None, *, by, **values):
    """Add one (every field given) or change one (the fields given; the rest keep the values
    they have under the row lock)."""
    if pk is None or "name" in values:
        values["name"] = (values.get("name") or "").strip()
        if not values["name"]:
            raise InventoryError(fields={"name": "Give it a name."})
    if not values:
        return model.objects.get(studio=studio, pk=pk)
    what = "a class type" if model is ClassType else "an instructor"
    taken = f"This studio already has {what} of that name."
    try:
        with transaction.atomic(durable=True):
            if pk is None:
                item, before = model(studio=studio), {}
            else:
                item = model.objects.select_for_update().filter(studio=studio, pk=pk).first()
                if item is None:
                    raise model.DoesNotExist(f"No {model._meta.verbose_name} {pk} at {studio}.")
                before = {key: getattr(item, key) for key in values}
            if "name" in values:
                same_name = model.objects.filter(studio=studio, name__iexact=values["name"])
                if same_name.exclude(pk=item.pk).exists():
                    raise InventoryError(fields={"name": taken})
            for key, value in values.items():
                setattr(item, key, value)
            item.save()
            _audit(
                studio,
                by=by,
                action=model._meta.verbose_name,
                target=item.name,
                before=before,
                after=values,
            )
    except IntegrityError:  # the same name saved by someone else meanwhile
        raise InventoryError(fields={"name": taken}) from None
    return item


# --- schedules -----------------------------------------------------------------------------

SCHEDULE_FIELDS = (
    "class_type",
    "instructor",
    "weekdays",
    "local_start_time",
    "duration_minutes",
    "capacity",
    "network_spots",
    "credit_price",
    "starts_on",
    "ends_on",
)


def nonexistent_days(tz: ZoneInfo, at: time, *, start: date, end: date, weekdays) -> list[date]:
    """Days in [start, end) on the schedule whose local time `at` falls in a DST gap."""
    days, day = [], start
    while day < end:
        if day.weekday() in weekdays:
            naive = datetime.combine(day, at)
            if (
                naive.replace(tzinfo=tz).astimezone(UTC).astimezone(tz).replace(tzinfo=None)
                != naive
            ):
                days.append(day)
        day += timedelta(days=1)
    return days


def _not_offered(studio: Studio, values: dict, *, kept: dict | None = None) -> dict[str, str]:
    """Errors by field for a class type or instructor that is another studio's, or retired.

    A retired one stays valid where it is already used (`kept`: the ids the schedule or class
    has now), so an edit of something else never fails on it."""
    errors, kept = {}, kept or {}
    for key, what in (("class_type", "class types"), ("instructor", "instructors")):
        item = values.get(key)
        if item is None:
            continue
        if item.studio_id != studio.pk:
            errors[key] = f"Pick one of this studio's {what}."
        elif not item.is_active and item.pk != kept.get(key):
            errors[key] = f"{item.name} is retired: bring it back on the catalog page first."
    return errors


def check_schedule(studio: Studio, values: dict, *, kept: dict | None = None) -> None:
    """Raise InventoryError (by field) for a schedule that cannot be run as given."""
    errors = _not_offered(studio, values, kept=kept)
    if values["network_spots"] > values["capacity"]:
        errors["network_spots"] = "Network spots cannot exceed the room's capacity."
    if values.get("ends_on") and values["ends_on"] < values["starts_on"]:
        errors["ends_on"] = "The end date must not be before the start date."
    if not values.get("weekdays"):
        errors["weekdays"] = "Pick at least one day of the week."
    errors.update(
        _too_far_ahead(studio, starts_on=values["starts_on"], ends_on=values.get("ends_on"))
    )
    if not errors:
        tz = studio.market.tzinfo
        end = values.get("ends_on") or values["starts_on"] + timedelta(days=366)
        gaps = nonexistent_days(
            tz,
            values["local_start_time"],
            start=values["starts_on"],
            end=end,
            weekdays=set(values["weekdays"]),
        )
        if gaps:
            errors["local_start_time"] = (
                f"{values['local_start_time']:%H:%M} does not exist on {gaps[0]:%a %-d %b %Y} in "
                f"{studio.market.timezone} (the clocks jump forward). Pick another time."
            )
    if errors:
        raise InventoryError(fields=errors)


def _too_far_ahead(studio: Studio, **days: date | None) -> dict[str, str]:
    latest = latest_plannable_day(timezone.localdate(timezone=studio.market.tzinfo))
    return {
        name: f"Plan at most {PLANNING_YEARS} years ahead (by {latest:%-d %b %Y})."
        for name, day in days.items()
        if day is not None and day > latest
    }


def create_schedule(studio: Studio, *, by, **values) -> Schedule:
    """Create a recurring slot and generate its sessions ahead."""
    check_schedule(studio, values)
    with transaction.atomic(durable=True):
        schedule = Schedule.objects.create(studio=studio, **values)
        _audit(
            studio,
            by=by,
            action="schedule created",
            target=f"schedule:{schedule.pk}",
            before={},
            after=_jsonable(values),
        )
    generate_sessions(schedules=Schedule.objects.filter(pk=schedule.pk))
    return schedule


def _jsonable(values: dict) -> dict:
    out = {}
    for key, value in values.items():
        if isinstance(value, models.Model):
            out[key] = str(value)
        elif isinstance(value, date | time):
            out[key] = value.isoformat()
        else:
            out[key] = value
    return out


def _protected_free(sessions):
    """Sessions that nothing protects from deletion (no reservation ever pointed at them)."""
    for rel in ClassSession._meta.related_objects:
        if rel.on_delete is models.PROTECT:
            sessions = sessions.exclude(**{f"{rel.name}__isnull": False})
    return sessions


@dataclass
class ScheduleChange:
    schedule: Schedule
    updated: int = 0
    regenerated: int = 0
    kept: list[str] = field(default_factory=list)


def update_schedule(schedule: Schedule, *, by, **changes) -> ScheduleChange:
    """Change a recurring slot from now on: `changes` are the fields that change (any of
    SCHEDULE_FIELDS); the others keep the schedule's values.

    Inventory changes reach every future session through update_session (refused ones are
    kept as they were and listed). A new day or time regenerates the future sessions that
    nobody booked; booked ones keep their time, and are listed so staff can cancel them.
    """
    values = {name: getattr(schedule, name) for name in SCHEDULE_FIELDS} | changes
    studio = schedule.studio
    kept = {"class_type": schedule.class_type_id, "instructor": schedule.instructor_id}
    check_schedule(studio, values, kept=kept)
    before = {k: getattr(schedule, k) for k in values}
    moved = any(
        before[k] != values[k]
        for k in ("weekdays", "local_start_time", "duration_minutes", "starts_on")
    )
    result = ScheduleChange(schedule=schedule)
    with transaction.atomic(durable=True):
        Schedule.objects.filter(pk=schedule.pk).update(**values)
        for key, value in values.items():
            setattr(schedule, key, value)
        _audit(
            studio,
            by=by,
            action="schedule changed",
            target=f"schedule:{schedule.pk}",
            before=_jsonable(before),
            after=_jsonable(values),
        )
    tz = studio.market.tzinfo
    future = ClassSession.objects.filter(
        schedule=schedule, starts_at__gt=timezone.now(), status=SessionStatus.SCHEDULED
    )
    unbooked = _protected_free(future.filter(network_booked=0, premium_booked=0, studio_booked=0))
    if moved:
        result.regenerated = unbooked.delete()[0]
        generate_sessions(schedules=Schedule.objects.filter(pk=schedule.pk))
    elif values.get("ends_on"):
        unbooked.filter(
            starts_at__gte=local_to_utc(values["ends_on"] + timedelta(days=1), time(0), tz)
        ).delete()
    today = timezone.localdate(timezone=tz)
    expected = {
        s.starts_at
        for s in sessions_for_schedule(
            schedule,
            start=today,
            end=today + timedelta(weeks=settings.SESSION_GENERATION_WEEKS + 1),
        )
    }
    # The classes take what changed on their schedule, and only that, and only where a class
    # still had the schedule's old value: what was set on one class alone (a SmartSpot release,
    # an accepted recommendation, a smaller room for a day, a substitute) is its own, and stays.
    # Each class is compared under its row lock, and the ones keeping a value are listed. A
    # schedule without an instructor leaves each class's own.
    pushed = {
        name: values[name]
        for name in ("capacity", "network_spots", "instructor", "credit_price")
        if name in values and values[name] != before[name] and values[name] is not None
    }
    for session in future.order_by("starts_at"):
        when = f"{timezone.localtime(session.starts_at, tz):%a %-d %b %H:%M}"
        if moved and session.starts_at not in expected:
            result.kept.append(f"{when} keeps its old time: it has bookings. Cancel it if needed.")
            continue
        if not pushed:
            continue
        try:
            with transaction.atomic():
                own = _own_values(session.pk, pushed, before)
                follows = {name: value for name, value in pushed.items() if name not in own}
                if follows:
                    update_session(studio, session.pk, by=by, audit=False, **follows)
                    result.updated += 1
        except InventoryError as exc:
            result.kept.append(f"{when} kept as it was: {exc.message}")
            continue
        if own:
            result.kept.append(f"{when} keeps its own {', '.join(own.values())}.")
    return result


_OWN_LABELS = {
    "capacity": lambda s: f"room of {s.capacity}",
    "network_spots": lambda s: f"{s.network_spots} network spots",
    "instructor": lambda s: f"instructor ({s.instructor})" if s.instructor else "no instructor",
    "credit_price": lambda s: f"price of {format_credits(s.credit_price)}",
}


def _own_values(session_id: int, pushed: dict, before: dict) -> dict[str, str]:
    """Lock a class and name (field -> label) the fields among `pushed` where it no longer has
    its schedule's value from `before`: values set on that class alone."""
    session = (
        ClassSession.objects.select_for_update(of=("self",))
        .select_related("instructor")
        .get(pk=session_id)
    )
    own = {}
    for name in pushed:
        current = session.instructor_id if name == "instructor" else getattr(session, name)
        if current != getattr(before[name], "pk", before[name]):
            own[name] = _OWN_LABELS[name](session)
    return own


def end_schedule(schedule: Schedule, *, by, ends_on: date) -> int:
    """Stop a slot after `ends_on`: unbooked sessions after it are removed, booked ones listed."""
    if ends_on < schedule.starts_on:
        raise InventoryError(fields={"ends_on": "The end date must not be before the start date."})
    if errors := _too_far_ahead(schedule.studio, ends_on=ends_on):
        raise InventoryError(fields=errors)
    with transaction.atomic(durable=True):
        before = {"ends_on": schedule.ends_on.isoformat() if schedule.ends_on else None}
        Schedule.objects.filter(pk=schedule.pk).update(ends_on=ends_on)
        schedule.ends_on = ends_on
        _audit(
            schedule.studio,
            by=by,
            action="schedule ended",
            target=f"schedule:{schedule.pk}",
            before=before,
            after={"ends_on": ends_on.isoformat()},
        )
        cutoff = local_to_utc(ends_on + timedelta(days=1), time(0), schedule.studio.market.tzinfo)
        after = ClassSession.objects.filter(schedule=schedule, starts_at__gte=cutoff)
        removed = _protected_free(
            after.filter(network_booked=0, premium_booked=0, studio_booked=0)
        ).delete()[0]
    return removed


# --- one class's inventory ------------------------------------------------------------------


KEEP = object()  # update_session's instructor when it stays as it is


def update_session(
    studio: Studio,
    session_id: int,
    *,
    by,
    capacity: int | None = None,
    network_spots: int | None = None,
    studio_booked: int | None = None,
    instructor: Instructor | object | None = KEEP,
    credit_price: int | None = None,
    audit: bool = True,
) -> ClassSession:
    """Change one class's room, allocation, studio bookings or instructor, under its row lock.
    An instructor of None takes the class's instructor off; KEEP (the default) leaves it.

    What is not given (None) keeps the value the class has under the lock, never one read
    before it: a caller passes only what it changes, so that a change made meanwhile (the
    studio's desk software syncing its own bookings, say) is not overwritten.

    Refuses (InventoryError, by field) anything that would leave more people booked than the
    room holds, or fewer network spots than members already hold. SESSION_INVENTORY_HOOKS run
    inside the same transaction (the bookings app promotes its waitlist there).
    """
    errors = {}
    if any(n is not None and n < 0 for n in (capacity, network_spots, studio_booked)):
        raise InventoryError(fields={"capacity": "Numbers of places cannot be negative."})
    with transaction.atomic():
        session = (
            ClassSession.objects.select_for_update(of=("self",))
            .select_related("studio__market", "class_type")
            .filter(pk=session_id, studio=studio)
            .first()
        )
        if session is None:
            raise ClassSession.DoesNotExist(f"No class {session_id} at {studio}.")
        capacity = session.capacity if capacity is None else capacity
        network_spots = session.network_spots if network_spots is None else network_spots
        studio_booked = session.studio_booked if studio_booked is None else studio_booked
        if session.status != SessionStatus.SCHEDULED:
            raise InventoryError("This class was cancelled; its inventory cannot change.")
        if session.starts_at <= timezone.now():
            raise InventoryError("This class has started; its inventory is final.")
        errors.update(
            _not_offered(
                studio,
                {"instructor": None if instructor is KEEP else instructor},
                kept={"instructor": session.instructor_id},
            )
        )
        if network_spots > capacity:
            errors["network_spots"] = "Network spots cannot exceed the room's capacity."
        elif network_spots < session.network_booked:
            errors["network_spots"] = (
                f"{session.network_booked} members already hold network spots; "
                "offer at least that many."
            )
        held = studio_booked + session.network_booked + session.premium_booked
        if held > capacity:
            errors["capacity" if capacity < session.capacity else "studio_booked"] = (
                f"The room holds {capacity}, but {held} would be booked: "
                f"{session.network_booked} network, {session.premium_booked} Premium "
                f"and {studio_booked} by the studio."
            )
        if errors:
            raise InventoryError(fields=errors)
        fields = {
            "capacity": capacity,
            "network_spots": network_spots,
            "studio_booked": studio_booked,
        }
        if instructor is not KEEP:
            fields["instructor_id"] = instructor.pk if instructor else None
        if credit_price is not None:
            fields["credit_price"] = credit_price
        before = {k: getattr(session, k) for k in fields}
        ClassSession.objects.filter(pk=session.pk).update(**fields)
        for key, value in fields.items():
            setattr(session, key, value)
        if audit:
            _audit(
                studio,
                by=by,
                action="class changed",
                target=f"session:{session.pk}",
                before=before,
                after=fields,
            )
        for path in settings.SESSION_INVENTORY_HOOKS:
            import_string(path)(session)
    return session


def check_new_session(
    studio: Studio,
    *,
    class_type,
    instructor,
    starts_at: datetime,
    capacity: int,
    network_spots: int,
    studio_booked: int = 0,
) -> None:
    """What create_session refuses, by field (InventoryError): for a form to show first."""
    errors = _not_offered(studio, {"class_type": class_type, "instructor": instructor})
    if network_spots > capacity:
        errors["network_spots"] = "Network spots cannot exceed the room's capacity."
    if studio_booked > capacity:
        errors["studio_booked"] = "The studio cannot book more people than the room holds."
    if starts_at <= timezone.now():
        errors["starts_at"] = "A new class must start in the future."
    if errors:
        raise InventoryError(fields=errors)


def create_session(
    studio: Studio,
    *,
    by,
    class_type,
    starts_at: datetime,
    duration_minutes: int,
    capacity: int,
    network_spots: int,
    credit_price: int,
    instructor: Instructor | None = None,
    studio_booked: int = 0,
) -> ClassSession:
    """A one-off class outside any schedule (an integration adds a workshop, say)."""
    check_new_session(
        studio,
        class_type=class_type,
        instructor=instructor,
        starts_at=starts_at,
        capacity=capacity,
        network_spots=network_spots,
        studio_booked=studio_booked,
    )
    with transaction.atomic():  # the class and its audit entry, together
        session = ClassSession.objects.create(
            studio=studio,
            class_type=class_type,
            instructor=instructor,
            starts_at=starts_at,
            duration_minutes=duration_minutes,
            capacity=capacity,
            network_spots=network_spots,
            credit_price=credit_price,
            studio_booked=studio_booked,
        )
        _audit(
            studio,
            by=by,
            action="class created",
            target=f"session:{session.pk}",
            before={},
            after={
                # The studio's wall time, with its offset: the log is read at the studio.
                "starts_at": timezone.localtime(starts_at, studio.market.tzinfo).isoformat(),
                "capacity": capacity,
                "network_spots": network_spots,
            },
        )
    return session
