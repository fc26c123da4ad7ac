"""/api/v1/: the REST API. Each app's api.py holds its views; the schema and docs are served here."""

from django.urls import path

# ruff: noqa: E501
from bookings import api as bookings_api
from marketing import api as marketing_api
from members import api as members_api
from premium import api as premium_api
from studios import api as studios_api

partner = "partner/<slug:studio_slug>/"

urlpatterns = [
    path("auth/token/", members_api.TokenView.as_view(), name="api-token"),
    path("auth/sign-up/", members_api.SignUpView.as_view(), name="api-sign-up"),
    path("me/", members_api.MeView.as_view(), name="api-me"),
    path("me/plan/", members_api.MyPlanView.as_view(), name="api-my-plan"),
    path("me/plan/pause/", members_api.PausePlanView.as_view(), name="api-pause-plan"),
    path("me/plan/resume/", members_api.ResumePlanView.as_view(), name="api-resume-plan"),
    path("me/plan/cancel/", members_api.CancelPlanView.as_view(), name="api-cancel-plan"),
    path("plans/", members_api.PlansView.as_view(), name="api-plans"),
    path("me/credits/", members_api.CreditsView.as_view(), name="api-credits"),
    path("me/payments/", members_api.PaymentsView.as_view(), name="api-payments"),
    path("me/delete/", members_api.DeleteAccountView.as_view(), name="api-delete-account"),
    path("me/waitlists/", bookings_api.MyWaitlistsView.as_view(), name="api-my-waitlists"),
    path("me/studios/", members_api.SavedStudiosView.as_view(), name="api-saved-studios"),
    path("me/studios/<slug:slug>/", members_api.SavedStudioView.as_view(), name="api-saved-studio"),
    path("markets/", bookings_api.MarketsView.as_view(), name="api-markets"),
    path("studios/<slug:slug>/", bookings_api.StudioView.as_view(), name="api-studio"),
    path("sessions/", bookings_api.SessionListView.as_view(), name="api-sessions"),
    path(
        "sessions/<int:session_id>/", bookings_api.SessionDetailView.as_view(), name="api-session"
    ),
    path(
        "sessions/<int:session_id>/waitlist/",
        bookings_api.WaitlistView.as_view(),
        name="api-waitlist",
    ),
    path("reservations/", bookings_api.ReservationListView.as_view(), name="api-reservations"),
    path(
        "reservations/<int:reservation_id>/cancel/",
        bookings_api.CancelView.as_view(),
        name="api-cancel",
    ),
    path("reservations/<int:reservation_id>/pay/", bookings_api.PayView.as_view(), name="api-pay"),
    path(
        partner + "sessions/",
        studios_api.PartnerSessionsView.as_view(),
        name="api-partner-sessions",
    ),
    path(
        partner + "sessions/<int:session_id>/",
        studios_api.PartnerSessionView.as_view(),
        name="api-partner-session",
    ),
    path(
        partner + "settings/",
        studios_api.PartnerSettingsView.as_view(),
        name="api-partner-settings",
    ),
    path(
        partner + "schedules/",
        studios_api.PartnerSchedulesView.as_view(),
        name="api-partner-schedules",
    ),
    path(
        partner + "schedules/<int:schedule_id>/",
        studios_api.PartnerScheduleView.as_view(),
        name="api-partner-schedule",
    ),
    path(
        partner + "schedules/<int:schedule_id>/end/",
        studios_api.PartnerScheduleEndView.as_view(),
        name="api-partner-schedule-end",
    ),
    path(
        partner + "sessions/<int:session_id>/roster/",
        bookings_api.PartnerRosterView.as_view(),
        name="api-partner-roster",
    ),
    path(
        partner + "reservations/<int:reservation_id>/check-in/",
        bookings_api.PartnerCheckInView.as_view(),
        name="api-partner-check-in",
    ),
    path(
        partner + "reservations/<int:reservation_id>/missed/",
        bookings_api.PartnerMissedView.as_view(),
        name="api-partner-missed",
    ),
    path(
        partner + "audit/",
        studios_api.PartnerAuditView.as_view(),
        name="api-partner-audit",
    ),
    path(
        partner + "earnings/",
        studios_api.PartnerEarningsView.as_view(),
        name="api-partner-earnings",
    ),
    path(
        partner + "premium/",
        premium_api.PremiumSettingsView.as_view(),
        name="api-partner-premium",
    ),
    path(
        partner + "premium/prices/<int:class_type_id>/",
        premium_api.ClassTypePriceView.as_view(),
        name="api-partner-premium-price",
    ),
    path(
        partner + "smartspot/",
        premium_api.SmartSpotView.as_view(),
        name="api-partner-smartspot",
    ),
    path(
        partner + "spotlight/",
        marketing_api.SpotlightView.as_view(),
        name="api-partner-spotlight",
    ),
    path(
        partner + "spotlight/<int:campaign_id>/pause/",
        marketing_api.PauseView.as_view(),
        name="api-partner-spotlight-pause",
    ),
    path(
        partner + "spotlight/<int:campaign_id>/resume/",
        marketing_api.ResumeView.as_view(),
        name="api-partner-spotlight-resume",
    ),
    path(
        partner + "spotlight/<int:campaign_id>/end/",
        marketing_api.EndView.as_view(),
        name="api-partner-spotlight-end",
    ),
    path(
        partner + "opportunities/",
        premium_api.OpportunitiesView.as_view(),
        name="api-partner-opportunities",
    ),
    path(
        partner + "opportunities/<int:opportunity_id>/accept/",
        premium_api.AcceptView.as_view(),
        name="api-partner-accept",
    ),
    path(
        partner + "opportunities/<int:opportunity_id>/dismiss/",
        premium_api.DismissView.as_view(),
        name="api-partner-dismiss",
    ),
    path(
        partner + "class-types/",
        studios_api.ClassTypesView.as_view(),
        name="api-partner-class-types",
    ),
    path(
        partner + "class-types/<int:class_type_id>/",
        studios_api.ClassTypeView.as_view(),
        name="api-partner-class-type",
    ),
    path(
        partner + "instructors/",
        studios_api.InstructorsView.as_view(),
        name="api-partner-instructors",
    ),
    path(
        partner + "instructors/<int:instructor_id>/",
        studios_api.InstructorView.as_view(),
        name="api-partner-instructor",
    ),
    path(partner + "team/", studios_api.TeamView.as_view(), name="api-partner-team"),
    path(
        partner + "team/<int:membership_id>/",
        studios_api.TeamMemberView.as_view(),
        name="api-partner-team-member",
    ),
    path(
        partner + "webhooks/",
        bookings_api.PartnerWebhooksView.as_view(),
        name="api-partner-webhooks",
    ),
    path(
        partner + "webhooks/<int:webhook_id>/",
        bookings_api.PartnerWebhookView.as_view(),
        name="api-partner-webhook",
    ),
]
