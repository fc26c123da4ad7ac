"""Partner Dashboard URLs of the premium app, under /partner/<studio_slug>/."""

from django.urls import path

from . import views

urlpatterns = [
    path("premium/", views.premium, name="premium"),
]
