"""Partner Dashboard: Spotlight campaigns (owners only)."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from studios import charts
from studios.forms import errors_into
from studios.partner import partner_required
from studios.templatetags.money import format_money

from . import selectors, services
from .errors import SpotlightError
from .forms import CampaignForm


@partner_required("spotlight")
def spotlight(request, studio):
    tomorrow = services.local_today(studio) + timezone.timedelta(days=1)
    # The whole market's price: the least fee a campaign without categories is sold at.
    least = selectors.least_fee(studio.market, [])
    form = CampaignForm(
        request.POST or None,
        initial={
            "starts_on": tomorrow,
            "ends_on": tomorrow + timezone.timedelta(days=6),
            "daily_fee_cents": least,
        },
        currency=studio.currency,
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.buy(studio, by=request.user, **form.cleaned_data)
        except SpotlightError as exc:
            errors_into(form, exc)
        else:
            messages.success(request, "Campaign booked. Each day is charged as it begins.")
            return redirect("partner:spotlight", studio_slug=studio.slug)
    campaigns = selectors.campaigns_for(studio)
    chosen = next(
        (c.campaign for c in campaigns if str(c.campaign.pk) == request.GET.get("campaign")), None
    )
    chosen = chosen or (campaigns[0].campaign if campaigns else None)
    chart = None
    if chosen is not None:
        days = selectors.days_of(chosen)
        chart = charts.bar_chart(
            "Bookings per day", [(f"{d.day:%-d %b}", d.bookings) for d in days]
        )
        impressions = charts.bar_chart(
            "Impressions per day", [(f"{d.day:%-d %b}", d.impressions) for d in days]
        )
    return render(
        request,
        "marketing/partner/spotlight.html",
        {
            "studio": studio,
            "form": form,
            "campaigns": campaigns,
            "chosen": chosen,
            "chart": chart,
            "impressions_chart": impressions if chosen else None,
            "least": format_money(least, studio.market.currency) if least else None,
        },
    )


@partner_required("spotlight")
@require_POST
def steer(request, studio, campaign_id: int, action: str):
    campaign = selectors.campaign_for_studio(studio, campaign_id)
    actions = {"pause": services.pause, "resume": services.resume, "end": services.end}
    if campaign is None or action not in actions:
        raise Http404("No such campaign.")
    try:
        actions[action](campaign)
    except SpotlightError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Campaign {campaign.get_status_display().lower()}.")
    return redirect("partner:spotlight", studio_slug=studio.slug)
