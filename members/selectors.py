"""Read queries about members that pages and the API share."""

from django.db.models import QuerySet
from knox.models import AuthToken

from studios.models import Market

from .models import CreditEntry, Member, Plan


def member_for_user(user) -> Member | None:
    if not user.is_authenticated:
        return None
    return (
        Member.objects.select_related("home_market", "plan", "next_plan").filter(user=user).first()
    )


def home_without_profile(user) -> str | None:
    """Where a signed-in account with no member profile belongs (a URL name): studio staff in
    the Partner Dashboard, the marketplace's admins in Django admin; None for anyone else."""
    if user.staff_memberships.exists():
        return "partner_home"
    if user.is_staff:
        return "admin:index"
    return None


def member_id_for_user(user) -> int | None:
    if not user.is_authenticated:
        return None
    return Member.objects.filter(user=user).values_list("pk", flat=True).first()


def plans_for(market: Market) -> QuerySet[Plan]:
    return (
        Plan.objects.filter(market=market, is_active=True)
        .select_related("market")
        .order_by("credits_per_cycle")
    )


def credit_history(member: Member) -> QuerySet[CreditEntry]:
    return CreditEntry.objects.filter(member=member).order_by("-created_at", "-id")


def api_tokens(user):
    return list(
        AuthToken.objects.filter(user=user).order_by("-created").values("token_key", "created")
    )
