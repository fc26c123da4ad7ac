"""Read queries about members that pages and the API share."""

from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef, QuerySet
from knox.models import AuthToken

from studios.models import Market, StaffMembership, Studio

from .models import (
    CreditEntry,
    Member,
    Payment,
    PaymentKind,
    PaymentStatus,
    Plan,
    SavedStudio,
    SubscriptionStatus,
)


def member_for_user(user) -> Member | None:
    if not user.is_authenticated:
        return None
    return (
        Member.objects.select_related("home_market", "plan", "next_plan").filter(user=user).first()
    )


def home_without_profile(user) -> str | None:
    """Where a signed-in account with no member profile belongs (a URL name): studio staff in
    the Partner Dashboard, the marketplace's admins in Django admin; None for anyone else."""
    roles = account_roles(user)
    if roles["partner"]:
        return "partner_home"
    if roles["admin"]:
        return "admin:index"
    return None


def account_roles(user) -> dict[str, bool]:
    """What a signed-in account is, for the site's navigation (one query): a member, staff of
    at least one studio, an admin of the marketplace. Any mix is possible."""
    row = (
        get_user_model()
        .objects.filter(pk=user.pk)
        .annotate(
            has_member=Exists(Member.objects.filter(user=OuterRef("pk"))),
            has_studio=Exists(StaffMembership.objects.filter(user=OuterRef("pk"))),
        )
        .values("has_member", "has_studio", "is_staff")
        .first()
    )
    if row is None:
        return {"member": False, "partner": False, "admin": False}
    return {"member": row["has_member"], "partner": row["has_studio"], "admin": row["is_staff"]}


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


def payment_history(member: Member) -> QuerySet[Payment]:
    """Money taken from the member or given back, newest first: plans, à la carte, fees and
    refunds, declined ones too (with the reason)."""
    return Payment.objects.filter(member=member).order_by("-created_at", "-id")


def declined_renewal(member: Member) -> Payment | None:
    """The declined plan payment that paused this member's plan, if that is why it is paused
    (a member who paused on purpose made no plan payment since their last good one)."""
    if member.status != SubscriptionStatus.PAUSED:
        return None
    last = Payment.objects.filter(member=member, kind=PaymentKind.PLAN).order_by("-id").first()
    return last if last is not None and last.status == PaymentStatus.FAILED else None


def api_tokens(user):
    return list(
        AuthToken.objects.filter(user=user).order_by("-created").values("token_key", "created")
    )


def saved_studios(member: Member) -> list[Studio]:
    """The member's studios that are still on the marketplace, by name. One query."""
    return list(
        Studio.objects.filter(
            is_active=True, pk__in=SavedStudio.objects.filter(member=member).values("studio_id")
        )
        .select_related("market")
        .order_by("name")
    )


def saved_studio_ids(member_id: int) -> QuerySet:
    """A subquery of the member's saved studios' ids, for a search to filter on."""
    return SavedStudio.objects.filter(member_id=member_id).values("studio_id")


def studio_to_save(slug: str) -> Studio | None:
    return Studio.objects.filter(slug=slug, is_active=True).first()


def has_saved(member: Member | None, studio: Studio) -> bool:
    return member is not None and SavedStudio.objects.filter(member=member, studio=studio).exists()
