"""Partner Dashboard page of the premium app: settings, class-type prices, revenue report."""

from django.contrib import messages
from django.shortcuts import redirect, render

from studios.partner import partner_required

from . import selectors, services
from .forms import ClassTypePriceForm, PremiumSettingsForm


@partner_required("premium")
def premium(request, studio):
    current = selectors.settings_for(studio)
    initial = {k: getattr(current, k) for k in services.FIELDS}
    form = PremiumSettingsForm(initial=initial)
    price_form = ClassTypePriceForm(studio=studio)
    if request.method == "POST" and request.POST.get("form") == "settings":
        form = PremiumSettingsForm(request.POST)
        if form.is_valid():
            services.update_settings(studio, by=request.user, **form.cleaned_data)
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
