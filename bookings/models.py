"""Reservations and waitlists (the booking engine lands with the member-booking issue)."""
