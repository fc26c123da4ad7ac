"""Partner Dashboard URLs of the premium app, under /partner/<studio_slug>/."""

from django.urls import path

from . import views

urlpatterns = [
    path("premium/", views.premium, name="premium"),
    path("smartspot/", views.smartspot, name="smartspot"),
    path("opportunities/", views.opportunities, name="opportunities"),
    path(
        "opportunities/<int:opportunity_id>/<str:decision>/",
        views.decide,
        name="opportunity_decide",
    ),
]
