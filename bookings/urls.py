from django.urls import path

from . import views

app_name = "bookings"

urlpatterns = [
    path("classes/", views.search, name="search"),
    path("classes/<int:session_id>/", views.class_detail, name="class"),
    path("classes/<int:session_id>/book/", views.book, name="book"),
    path("classes/<int:session_id>/waitlist/", views.join_waitlist, name="join_waitlist"),
    path("studios/<slug:slug>/", views.studio_detail, name="studio"),
    path("me/schedule/", views.schedule, name="schedule"),
    path("checkout/<uuid:public_id>/", views.checkout, name="checkout"),
    path("me/reservations/<int:reservation_id>/cancel/", views.cancel, name="cancel"),
    path("me/waitlist/<int:entry_id>/leave/", views.leave_waitlist, name="leave_waitlist"),
    path("me/schedule/calendar/reset/", views.calendar_reset, name="calendar_reset"),
    path("calendar/<str:token>.ics", views.calendar_feed, name="calendar"),
]
