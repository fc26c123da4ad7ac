"""Partner Dashboard URLs of the bookings app, under /partner/<studio_slug>/."""

from django.urls import path

from . import partner_views

urlpatterns = [
    path("", partner_views.overview, name="overview"),
    path("classes/<int:session_id>/", partner_views.roster, name="roster"),
    path("classes/<int:session_id>/cancel/", partner_views.cancel_class, name="cancel_class"),
    path(
        "classes/<int:session_id>/reservations/<int:reservation_id>/<str:action>/",
        partner_views.roster_action,
        name="roster_action",
    ),
]
