from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from studios import views as studio_views

from . import views

# The Partner Dashboard: each app adds its pages under one prefix and one namespace.
partner = (
    [
        path("<slug:studio_slug>/", include("bookings.partner_urls")),
        path("<slug:studio_slug>/", include("studios.partner_urls")),
        path("<slug:studio_slug>/", include("premium.partner_urls")),
        path("<slug:studio_slug>/", include("marketing.partner_urls")),
    ],
    "partner",
)

admin.site.site_header = "classpass admin"
admin.site.site_title = "classpass admin"
admin.site.index_title = "The marketplace"

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("favicon.ico", views.favicon),
    path("admin/", admin.site.urls),
    path("api/v1/", include("classpass.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's script as a file, so the CSP needs no inline code.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("partner/", studio_views.pick_studio, name="partner_home"),
    path("partner/", include(partner)),
    path("", include("members.urls")),
    path("", include("bookings.urls")),
]
