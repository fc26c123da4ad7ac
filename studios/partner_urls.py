"""Partner Dashboard URLs of the studios app, under /partner/<studio_slug>/."""

from django.urls import path

from . import views

urlpatterns = [
    path("schedule/", views.schedule, name="schedule"),
    path("schedule/new/", views.schedule_new, name="schedule_new"),
    path("schedule/<int:schedule_id>/", views.schedule_edit, name="schedule_edit"),
    path("schedule/<int:schedule_id>/end/", views.schedule_end, name="schedule_end"),
    path("classes/<int:session_id>/edit/", views.session_edit, name="session_edit"),
    path("settings/", views.settings_page, name="settings"),
    path("catalog/", views.catalog, name="catalog"),
    path("catalog/<str:kind>/<int:item_id>/", views.catalog_edit, name="catalog_edit"),
    path(
        "catalog/<str:kind>/<int:item_id>/<str:action>/",
        views.catalog_retire,
        name="catalog_retire",
    ),
    path("team/", views.team, name="team"),
    path("team/<int:membership_id>/<str:action>/", views.team_action, name="team_action"),
    path("earnings/", views.earnings, name="earnings"),
    path(
        "earnings/<int:year>-<int:month>/statement.csv", views.statement_csv, name="statement_csv"
    ),
]
