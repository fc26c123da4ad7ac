"""Partner Dashboard: studio picker, schedules, class inventory, settings, earnings."""

import csv
from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from . import selectors, services
from .errors import InventoryError
from .forms import (
    ClassTypeForm,
    EndScheduleForm,
    InstructorForm,
    ProfileForm,
    RoleForm,
    ScheduleForm,
    SessionForm,
    SettingsForm,
    StaffForm,
    errors_into,
)
from .models import ClassType, Instructor, StaffMembership
from .partner import partner_for, partner_required, studios_of


@login_required
def pick_studio(request):
    memberships = studios_of(request.user)
    if not memberships:
        raise Http404("You don't staff any studio.")
    if len(memberships) == 1:
        return redirect("partner:overview", studio_slug=memberships[0].studio.slug)
    return render(request, "studios/partner/pick.html", {"memberships": memberships})


@partner_required("schedule")
def schedule(request, studio):
    return render(
        request,
        "studios/partner/schedule.html",
        {
            "studio": studio,
            "schedules": list(selectors.schedules(studio)),
            "sessions": list(selectors.upcoming_sessions(studio)),
        },
    )


@partner_required("schedule")
def schedule_new(request, studio):
    today = timezone.localdate(timezone=studio.market.tzinfo)  # the studio's, not the server's
    form = ScheduleForm(request.POST or None, studio=studio, initial={"starts_on": today})
    if request.method == "POST" and form.is_valid():
        try:
            services.create_schedule(studio, by=request.user, **form.cleaned_data)
        except InventoryError as exc:
            errors_into(form, exc)
        else:
            messages.success(request, "Schedule created; its classes are on sale.")
            return redirect("partner:schedule", studio_slug=studio.slug)
    return render(
        request, "studios/partner/schedule_form.html", {"studio": studio, "form": form, "new": True}
    )


@partner_required("schedule")
def schedule_edit(request, studio, schedule_id: int):
    item = selectors.schedule_for_studio(studio, schedule_id)
    if item is None:
        raise Http404("No such schedule.")
    initial = {name: getattr(item, name) for name in services.SCHEDULE_FIELDS}
    form = ScheduleForm(request.POST or None, studio=studio, initial=initial)
    today = timezone.localdate(timezone=studio.market.tzinfo)
    end_form = EndScheduleForm(initial={"ends_on": item.ends_on or today})
    if request.method == "POST" and form.is_valid():
        try:
            # What this person changed (ChangesOnly), over the schedule as it is now.
            change = services.update_schedule(item, by=request.user, **form.changes())
        except InventoryError as exc:
            errors_into(form, exc)
        else:
            messages.success(request, f"Schedule saved; {change.updated} upcoming classes updated.")
            for line in change.kept:
                messages.warning(request, line)
            return redirect("partner:schedule", studio_slug=studio.slug)
    return render(
        request,
        "studios/partner/schedule_form.html",
        {"studio": studio, "form": form, "end_form": end_form, "item": item},
    )


@partner_required("schedule")
@require_POST
def schedule_end(request, studio, schedule_id: int):
    item = selectors.schedule_for_studio(studio, schedule_id)
    if item is None:
        raise Http404("No such schedule.")
    form = EndScheduleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Pick the last day of the schedule.")
        return redirect("partner:schedule_edit", studio_slug=studio.slug, schedule_id=item.pk)
    try:
        removed = services.end_schedule(item, by=request.user, ends_on=form.cleaned_data["ends_on"])
    except InventoryError as exc:
        messages.error(request, exc.message)
        return redirect("partner:schedule_edit", studio_slug=studio.slug, schedule_id=item.pk)
    messages.success(
        request,
        f"The schedule ends on {form.cleaned_data['ends_on']:%-d %b %Y}; "
        f"{removed} unbooked classes removed. Booked classes after it stay until you cancel them.",
    )
    return redirect("partner:schedule", studio_slug=studio.slug)


@partner_required("schedule")
def session_edit(request, studio, session_id: int):
    session = selectors.session_for_studio(studio, session_id)
    if session is None:
        raise Http404("No such class.")
    initial = {
        "capacity": session.capacity,
        "network_spots": session.network_spots,
        "studio_booked": session.studio_booked,
        "instructor": session.instructor,
    }
    form = SessionForm(request.POST or None, studio=studio, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:  # only what this person changed (ChangesOnly): a desk sync since then stands
            services.update_session(studio, session.pk, by=request.user, **form.changes())
        except InventoryError as exc:
            errors_into(form, exc)
        else:
            messages.success(request, "Class saved.")
            return redirect("partner:roster", studio_slug=studio.slug, session_id=session.pk)
    return render(
        request,
        "studios/partner/session_form.html",
        {"studio": studio, "session": session, "form": form},
    )


@partner_required("inventory")
def settings_page(request, studio):
    which = request.POST.get("form", "settings") if request.method == "POST" else None
    initial = {name: getattr(studio, name) for name in services.INVENTORY_SETTINGS}
    form = SettingsForm(
        request.POST if which == "settings" else None, initial=initial, currency=studio.currency
    )
    profile = ProfileForm(
        request.POST if which == "profile" else None,
        initial={name: getattr(studio, name) for name in services.PROFILE_FIELDS},
        prefix="profile",
    )
    forms = {
        "settings": (form, services.update_settings),
        "profile": (profile, services.update_profile),
    }
    if which in forms and forms[which][0].is_valid():
        chosen, save = forms[which]
        try:
            save(studio, by=request.user, **chosen.changes())
        except InventoryError as exc:
            errors_into(chosen, exc)
        else:
            messages.success(
                request, "Settings saved." if which == "settings" else "Profile saved."
            )
            return redirect("partner:settings", studio_slug=studio.slug)
    audit = None
    if request.partner.can["audit"]:
        audit = Paginator(selectors.audit_log(studio), 25).get_page(request.GET.get("page"))
        selectors.present_audit_entries(studio, audit)
    return render(
        request,
        "studios/partner/settings.html",
        {"studio": studio, "form": form, "profile_form": profile, "page": audit},
    )


@partner_required("schedule")
def catalog(request, studio):
    """The studio's class types and instructors, each with a form to add one."""
    which = request.POST.get("form") if request.method == "POST" else None
    forms = {
        "class_type": ClassTypeForm(request.POST if which == "class_type" else None, prefix="ct"),
        "instructor": InstructorForm(request.POST if which == "instructor" else None, prefix="in"),
    }
    save = {"class_type": services.save_class_type, "instructor": services.save_instructor}
    form = forms.get(which)
    if form is not None and form.is_valid():
        try:
            item = save[which](studio, by=request.user, **form.cleaned_data)
        except InventoryError as exc:
            errors_into(form, exc)
        else:
            messages.success(request, f"{item.name} added.")
            return redirect("partner:catalog", studio_slug=studio.slug)
    return render(
        request,
        "studios/partner/catalog.html",
        {
            "studio": studio,
            "class_types": selectors.class_types_of(studio),
            "instructors": selectors.instructors_of(studio),
            "class_type_form": forms["class_type"],
            "instructor_form": forms["instructor"],
        },
    )


@partner_required("schedule")
def catalog_edit(request, studio, kind: str, item_id: int):
    """Change one class type or instructor of the studio."""
    kinds = {
        "class-types": (ClassType, ClassTypeForm, services.save_class_type, "class_type_id"),
        "instructors": (Instructor, InstructorForm, services.save_instructor, "instructor_id"),
    }
    if kind not in kinds:
        raise Http404("No such list.")
    model, form_class, save, key = kinds[kind]
    item = selectors.catalog_item(studio, model, item_id)
    if item is None:
        raise Http404("Not one of this studio's.")
    initial = {name: getattr(item, name) for name in form_class.base_fields}
    form = form_class(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            save(studio, by=request.user, **{key: item.pk}, **form.changes())
        except InventoryError as exc:
            errors_into(form, exc)
        else:
            messages.success(request, "Saved.")
            return redirect("partner:catalog", studio_slug=studio.slug)
    return render(
        request, "studios/partner/catalog_edit.html", {"studio": studio, "form": form, "item": item}
    )


@partner_required("schedule")
@require_POST
def catalog_retire(request, studio, kind: str, item_id: int, action: str):
    """Retire a class type or instructor, or bring one back."""
    models_by_kind = {"class-types": ClassType, "instructors": Instructor}
    if kind not in models_by_kind or action not in ("retire", "restore"):
        raise Http404("No such action.")
    try:
        services.set_retired(
            studio, models_by_kind[kind], item_id, retired=action == "retire", by=request.user
        )
    except (ClassType.DoesNotExist, Instructor.DoesNotExist):
        raise Http404("Not one of this studio's.") from None
    messages.success(request, "Retired." if action == "retire" else "Back in use.")
    return redirect("partner:catalog", studio_slug=studio.slug)


@partner_required("team")
def team(request, studio):
    form = StaffForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.add_staff(studio, by=request.user, **form.cleaned_data)
        except InventoryError as exc:
            errors_into(form, exc)
        else:
            messages.success(request, f"{form.cleaned_data['email']} is on the team.")
            return redirect("partner:team", studio_slug=studio.slug)
    return render(
        request,
        "studios/partner/team.html",
        {"studio": studio, "form": form, "team": selectors.team(studio), "roles": RoleForm()},
    )


@partner_required("team")
@require_POST
def team_action(request, studio, membership_id: int, action: str):
    try:
        if action == "role":
            form = RoleForm(request.POST)
            if not form.is_valid():
                raise InventoryError("Pick a role.")
            services.change_role(
                studio, membership_id, role=form.cleaned_data["role"], by=request.user
            )
            messages.success(request, "Role changed.")
        elif action == "remove":
            services.remove_staff(studio, membership_id, by=request.user)
            messages.success(request, "Removed from the team.")
        else:
            raise Http404("No such action.")
    except StaffMembership.DoesNotExist:
        raise Http404("No such team member.") from None
    except InventoryError as exc:
        messages.error(request, exc.message)
    still = partner_for(request.user, studio.slug)
    if still is None or not still.can["team"]:  # the owner stepped down or left
        return redirect("partner_home" if studios_of(request.user) else "home")
    return redirect("partner:team", studio_slug=studio.slug)


def _month(request, studio) -> tuple[int, int]:
    """?month=YYYY-MM; anything else, or a month without a statement, is the current month."""
    raw = request.GET.get("month", "")
    try:
        year, month = (int(part) for part in raw.split("-"))
    except ValueError:
        return selectors.current_month(studio)
    if not selectors.is_statement_month(studio, year, month):
        return selectors.current_month(studio)
    return year, month


@partner_required("reports")
def earnings(request, studio):
    year, month = _month(request, studio)
    page = Paginator(selectors.earnings_in_month(studio, year, month), 50).get_page(
        request.GET.get("page")
    )
    first = date(year, month, 1)
    previous = date(year - (month == 1), (month - 2) % 12 + 1, 1)
    following = date(year + (month == 12), month % 12 + 1, 1)
    previous = (
        previous if selectors.is_statement_month(studio, previous.year, previous.month) else None
    )
    following = (
        following if selectors.is_statement_month(studio, following.year, following.month) else None
    )
    return render(
        request,
        "studios/partner/earnings.html",
        {
            "studio": studio,
            "month": first,
            "previous": previous,
            "following": following,
            "statement": selectors.statement(studio, year, month),
            "page": page,
            "querystring": f"month={year}-{month:02d}",
        },
    )


# A cell starting with one of these is a formula to a spreadsheet (CSV injection, OWASP).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _as_text(value: str) -> str:
    """A text cell that a spreadsheet shows, never runs: names and descriptions come from
    studio staff, and a class named '=HYPERLINK(…)' must not act in the owner's spreadsheet."""
    return f"'{value}" if value.startswith(FORMULA_STARTS) else value


@partner_required("reports")
def statement_csv(request, studio, year: int, month: int):
    if not selectors.is_statement_month(studio, year, month):
        raise Http404("No statement for that month.")
    statement = selectors.statement(studio, year, month)
    currency = studio.market.currency
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="{studio.slug}-statement-{year}-{month:02d}.csv"'
    )
    writer = csv.writer(response)
    tz = studio.market.tzinfo
    writer.writerow(["Payout statement", _as_text(studio.name), f"{year}-{month:02d}", currency])
    writer.writerow([])
    # "class starts" comes last, after the columns that spreadsheets already read by position.
    writer.writerow(["date", "kind", "class", "description", "reference", "amount", "class starts"])
    for entry in selectors.earnings_in_month(studio, year, month).iterator(chunk_size=2000):
        writer.writerow(
            [
                timezone.localtime(entry.occurred_at, tz).strftime("%Y-%m-%d %H:%M"),
                entry.get_kind_display(),
                _as_text(entry.session.class_type.name) if entry.session_id else "",
                _as_text(entry.description),
                _as_text(entry.reference or ""),
                f"{entry.amount_cents / 100:.2f}",
                timezone.localtime(entry.session.starts_at, tz).strftime("%Y-%m-%d %H:%M")
                if entry.session_id
                else "",
            ]
        )
    writer.writerow([])
    writer.writerow(["Opening balance", "", "", "", "", f"{statement.opening_cents / 100:.2f}"])
    for label, cents in statement.lines:
        writer.writerow([label, "", "", "", "", f"{cents / 100:.2f}"])
    writer.writerow(
        [
            "Total payable",
            "",
            "",
            f"by {statement.payable_by:%Y-%m-%d}",
            "",
            f"{statement.payable_cents / 100:.2f}",
        ]
    )
    writer.writerow(
        ["Carried to next month", "", "", "", "", f"{statement.carried_cents / 100:.2f}"]
    )
    return response
