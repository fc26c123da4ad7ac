"""The member's iCalendar feed: one event per live reservation, for calendar apps."""

from collections.abc import Iterable
from datetime import timedelta

from django.utils import timezone
from icalendar import Calendar, Event

from members.models import Member

from .models import Reservation, ReservationStatus


def ical_for(member: Member, reservations: Iterable[Reservation], *, site_url: str) -> bytes:
    cal = Calendar()
    cal.add("prodid", "-//classpass//schedule//EN")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", "classpass")
    for reservation in reservations:
        session = reservation.session
        event = Event()
        event.add("uid", f"{reservation.public_id}@classpass")
        event.add("dtstamp", timezone.now())
        event.add("dtstart", session.starts_at)
        event.add("dtend", session.starts_at + timedelta(minutes=session.duration_minutes))
        event.add("summary", f"{session.class_type.name} · {session.studio.name}")
        event.add("location", session.studio.address)
        who = f" with {session.instructor.name}" if session.instructor else ""
        event.add(
            "description",
            f"{session.class_type.name}{who}. {site_url.rstrip('/')}/classes/{session.pk}/",
        )
        event.add(
            "status", "CONFIRMED" if reservation.status == ReservationStatus.BOOKED else "TENTATIVE"
        )
        cal.add_component(event)
    return cal.to_ical()
