"""The API's project-wide pieces: one JSON error shape, pagination bounds, the token throttle.

Every app's own errors carry a message for people; this is the one place that maps them to
HTTP statuses: {"error": {"code": "...", "message": "...", "fields": {...}}}.
"""

import math

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from bookings.errors import BookingError
from marketing.errors import SpotlightError
from members.errors import (
    MemberError,
    NotEnoughCredits,
    PaymentFailed,
    PaymentUnavailable,
    TooManySignUps,
)
from studios.errors import InventoryError


def error(code: str, message: str, http_status: int, fields: dict | None = None) -> Response:
    return Response(
        {"error": {"code": code, "message": message, "fields": fields or {}}}, status=http_status
    )


def _fields(detail) -> dict:
    if isinstance(detail, dict):
        return {k: [str(m) for m in (v if isinstance(v, list) else [v])] for k, v in detail.items()}
    return {}


def exception_handler(exc, context):
    if isinstance(exc, BookingError):
        return error(exc.code, exc.message, exc.status)
    if isinstance(exc, PaymentFailed):
        return error(exc.code, exc.message, status.HTTP_402_PAYMENT_REQUIRED)
    if isinstance(exc, PaymentUnavailable):  # the same request may be sent again
        return error(exc.code, exc.message, status.HTTP_503_SERVICE_UNAVAILABLE)
    if isinstance(exc, TooManySignUps):
        response = error(exc.code, exc.message, status.HTTP_429_TOO_MANY_REQUESTS)
        response["Retry-After"] = str(math.ceil(exc.wait))
        return response
    if isinstance(exc, NotEnoughCredits):
        return error(exc.code, exc.message, status.HTTP_409_CONFLICT)
    if isinstance(exc, MemberError):
        return error(exc.code, exc.message, status.HTTP_422_UNPROCESSABLE_ENTITY)
    if isinstance(exc, InventoryError | SpotlightError):
        return error(
            exc.code, exc.message, status.HTTP_422_UNPROCESSABLE_ENTITY, _fields(exc.fields)
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or "Not found.")
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or "You may not do that.")
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # a real bug: let it be a 500 and be logged
    if isinstance(exc, exceptions.ValidationError):
        fields = _fields(exc.detail)
        message = (
            "; ".join(f"{k}: {' '.join(v)}" for k, v in fields.items())
            if fields
            else str(exc.detail)
        )
        response.data = {"error": {"code": "invalid", "message": message, "fields": fields}}
    elif isinstance(exc, exceptions.ParseError):
        response.data = {
            "error": {"code": "malformed_json", "message": str(exc.detail), "fields": {}}
        }
    else:
        code = getattr(exc, "default_code", "error")
        response.data = {
            "error": {"code": str(code), "message": str(getattr(exc, "detail", exc)), "fields": {}}
        }
    return response


class Pagination(PageNumberPagination):
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not raw.isdigit() or not 1 <= int(raw) <= self.max_page_size:
            raise exceptions.ValidationError(
                {"page_size": [f"A whole number from 1 to {self.max_page_size}."]}
            )
        return int(raw)
