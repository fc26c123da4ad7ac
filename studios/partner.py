"""Who may open which Partner Dashboard page: one decorator, used by every partner view.

The studio comes from the URL and must be one the user staffs: anything else is a 404, so a
page never tells a stranger that a studio exists. A role that may not use a page gets a 403
that says why. Views receive the studio as their first argument after the request.
"""

from dataclasses import dataclass, field
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.http import Http404
from django.shortcuts import render
from django.utils.text import get_text_list

from .models import StaffMembership, StaffRole, Studio

ALL = frozenset(StaffRole.values)
OWNER_MANAGER = frozenset({StaffRole.OWNER, StaffRole.MANAGER})

# What each role may do; templates read the same table to show only allowed links.
PERMISSIONS: dict[str, frozenset[str]] = {
    "overview": ALL,
    "roster": ALL,
    "check_in": ALL,
    "schedule": OWNER_MANAGER,
    "inventory": OWNER_MANAGER,
    "reports": OWNER_MANAGER,
    "audit": frozenset({StaffRole.OWNER}),
    "team": frozenset({StaffRole.OWNER}),
    "premium": OWNER_MANAGER,
    "spotlight": frozenset({StaffRole.OWNER}),
    "integrations": OWNER_MANAGER,
}

# How a page that refuses a role names the roles it is for, most senior first.
ROLE_PLURALS = {
    StaffRole.OWNER: "owners",
    StaffRole.MANAGER: "managers",
    StaffRole.FRONT_DESK: "front desk staff",
}


def refusal(roles: frozenset[str], role: str) -> str:
    """Why a page refuses `role`: who it is for, and who can open it for them."""
    allowed = get_text_list([ROLE_PLURALS[r] for r in ROLE_PLURALS if r in roles], "and")
    return (
        f"Only the studio's {allowed} can open this page; your role here is "
        f"{StaffRole(role).label.lower()}. An owner can change your role on the Team page."
    )


@dataclass(frozen=True)
class Partner:
    """The signed-in staff member's standing at the studio of the page."""

    studio: Studio
    role: str
    can: dict[str, bool] = field(default_factory=dict)

    @property
    def role_label(self) -> str:
        return StaffRole(self.role).label


def partner_for(user, studio_slug: str) -> Partner | None:
    membership = (
        StaffMembership.objects.select_related("studio__market")
        .filter(user=user, studio__slug=studio_slug)
        .first()
    )
    if membership is None:
        return None
    can = {name: membership.role in roles for name, roles in PERMISSIONS.items()}
    return Partner(studio=membership.studio, role=membership.role, can=can)


def partner_required(permission: str):
    """Open the view to staff of the URL's studio whose role has `permission`."""
    roles = PERMISSIONS[permission]

    def decorator(view):
        @wraps(view)
        def wrapper(request, studio_slug: str, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            partner = partner_for(request.user, studio_slug)
            if partner is None:
                raise Http404("No such studio.")
            request.partner = partner
            if partner.role not in roles:
                message = refusal(roles, partner.role)
                return render(
                    request, "studios/partner/forbidden.html", {"message": message}, status=403
                )
            return view(request, partner.studio, *args, **kwargs)

        return wrapper

    return decorator


def studios_of(user) -> list[StaffMembership]:
    return list(
        StaffMembership.objects.filter(user=user)
        .select_related("studio__market")
        .order_by("studio__name")
    )
