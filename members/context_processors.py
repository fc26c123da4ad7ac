"""What every page's template may read about the signed-in account."""

from django.utils.functional import SimpleLazyObject

# The session keeps what the account is (member, studio staff, admin) from its log-in, so
# the top bar shows the right links without a query on every page (members.views).
NAV_ROLES = "nav_roles"
# A session from before the roles were kept: a member's links, as the site always showed.
MEMBER_LINKS = {"member": True, "partner": False, "admin": False}


def nav_roles(request) -> dict:
    """nav_roles: which of the top bar's links to show. Read only when a page uses it."""
    return {"nav_roles": SimpleLazyObject(lambda: request.session.get(NAV_ROLES) or MEMBER_LINKS)}
