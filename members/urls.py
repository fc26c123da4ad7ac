from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy

from . import views

app_name = "members"

urlpatterns = [
    path("signup/", views.sign_up, name="signup"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "password-reset/",
        views.PasswordResetView.as_view(),
        name="password_reset",
    ),
    path(
        "password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(template_name="members/password_reset_done.html"),
        name="password_reset_done",
    ),
    path(
        "password-reset/<uidb64>/<token>/",
        views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "password-reset/done/",
        auth_views.PasswordResetCompleteView.as_view(
            template_name="members/password_reset_complete.html"
        ),
        name="password_reset_complete",
    ),
    path(
        "me/password/",
        auth_views.PasswordChangeView.as_view(
            template_name="members/password_change.html",
            success_url=reverse_lazy("members:password_change_done"),
        ),
        name="password_change",
    ),
    path(
        "me/password/done/",
        auth_views.PasswordChangeDoneView.as_view(
            template_name="members/password_change_done.html"
        ),
        name="password_change_done",
    ),
    path("me/", views.account, name="account"),
    path("me/payments/", views.payments, name="payments"),
    path("me/plan/", views.plan, name="plan"),
    path("me/plan/pause/", views.pause, name="pause"),
    path("me/plan/resume/", views.resume, name="resume"),
    path("me/plan/cancel/", views.cancel, name="cancel"),
    path("me/details/", views.details, name="details"),
    path("me/details/email/<str:token>/", views.confirm_email, name="confirm_email"),
    path("me/details/confirm-again/", views.confirm_again, name="confirm_again"),
    path("me/studios/<slug:slug>/", views.save_studio, name="save_studio"),
    path("me/delete/", views.delete_account, name="delete_account"),
    path("me/reminders/", views.class_reminders, name="class_reminders"),
    path("me/tokens/", views.create_token, name="create_token"),
    path("me/tokens/<str:token_key>/revoke/", views.revoke_token, name="revoke_token"),
]
