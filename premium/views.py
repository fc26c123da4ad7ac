"""Partner Dashboard pages of the premium app: Premium, SmartSpot and Opportunities."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from studios.errors import InventoryError
from studios.partner import partner_required

from . import selectors, services
from .forms import ClassTypePriceForm, PremiumSettingsForm


@partner_required("premium")
def premium(request, studio):
    current = selectors.settings_for(studio)
    initial = {k: getattr(current, k) for k in services.FIELDS}
    form = PremiumSettingsForm(initial=initial, currency=studio.currency)
    price_form = ClassTypePriceForm(studio=studio)
    if request.method == "POST" and request.POST.get("form") == "settings":
        form = PremiumSettingsForm(request.POST, currency=studio.currency)
        if form.is_valid():
            services.update_settings(studio, by=request.user, **form.changes())
            messages.success(request, "Premium settings saved.")
            return redirect("partner:premium", studio_slug=studio.slug)
    elif request.method == "POST" and request.POST.get("form") == "price":
        price_form = ClassTypePriceForm(request.POST, studio=studio)
        if price_form.is_valid():
            data = price_form.cleaned_data
            services.set_class_type_price(
                studio, data["class_type"], price_cents=data["price_cents"], by=request.user
            )
            messages.success(request, f"Premium price of {data['class_type'].name} saved.")
            return redirect("partner:premium", studio_slug=studio.slug)
    return render(
        request,
        "premium/partner/premium.html",
        {
            "studio": studio,
            "form": form,
            "price_form": price_form,
            "prices": selectors.class_type_prices(studio),
            "report": selectors.premium_revenue(studio),
        },
    )


@partner_required("premium")
def smartspot(request, studio):
    page = Paginator(selectors.smartspot_releases(studio), 30).get_page(request.GET.get("page"))
    return render(
        request,
        "premium/partner/smartspot.html",
        {
            "studio": studio,
            "settings": selectors.settings_for(studio),
            "accuracy": selectors.smartspot_accuracy(studio),
            "page": page,
        },
    )


@partner_required("schedule")
def opportunities(request, studio):
    return render(
        request,
        "premium/partner/opportunities.html",
        {
            "studio": studio,
            "open": list(selectors.open_opportunities(studio)),
            "accepted": selectors.accepted_revenue(studio),
            "decided": list(selectors.decided_opportunities(studio)[: selectors.DECIDED_SHOWN]),
        },
    )


@partner_required("schedule")
@require_POST
def decide(request, studio, opportunity_id: int, decision: str):
    opportunity = selectors.opportunity_for_studio(studio, opportunity_id)
    if opportunity is None or decision not in ("accept", "dismiss"):
        raise Http404("No such recommendation.")
    try:
        if decision == "accept":
            scope = "schedule" if request.POST.get("scope") == "schedule" else "session"
            services.accept_opportunity(opportunity, by=request.user, scope=scope)
            messages.success(request, f"Added {opportunity.suggested_spots} network spots.")
        else:
            services.dismiss_opportunity(opportunity, by=request.user)
            messages.success(request, "Recommendation dismissed.")
    except InventoryError as exc:
        messages.error(request, exc.message)
    return redirect("partner:opportunities", studio_slug=studio.slug)
