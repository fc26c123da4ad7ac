"""Partner Dashboard URLs of the marketing app, under /partner/<studio_slug>/."""

from django.urls import path

from . import views

urlpatterns = [
    path("spotlight/", views.spotlight, name="spotlight"),
    path("spotlight/<int:campaign_id>/<str:action>/", views.steer, name="spotlight_steer"),
]
