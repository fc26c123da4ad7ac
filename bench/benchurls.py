"""The product's URLs plus two baselines that an HTTP benchmark measures beside a booking:
the minimal view (the ceiling), and the same write behind the API's own request cycle."""

from django.db import connection, transaction
from django.http import JsonResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt
from rest_framework.response import Response
from rest_framework.views import APIView


def _write(slot: int) -> bool:
    """One conditional row update and one insert, in a transaction: nothing else."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE bench_slot SET used = used + 1 WHERE id = %s AND used < cap", [slot])
        ok = cursor.rowcount == 1
        if ok:
            cursor.execute("INSERT INTO bench_row (slot, who, at) VALUES (%s, 0, now())", [slot])
    return ok


@csrf_exempt
def minimal(request, slot: int):
    ok = _write(slot)
    return JsonResponse({"ok": ok}, status=201 if ok else 409)


class MinimalAPI(APIView):
    """The minimal view's write behind what every API request of the product pays: token
    authentication, the rate limits with the booking scope, a parsed JSON body and a rendered
    response. Set beside the minimal view and a booking, it splits the gap between them into
    the API's request cycle and the booking itself."""

    throttle_scope = "booking"

    def post(self, request):
        ok = _write(int(request.data["slot"]))  # the body names the slot, as a booking's does
        return Response({"ok": ok}, status=201 if ok else 409)


urlpatterns = [
    path("bench/minimal/<int:slot>/", minimal),
    path("bench/api-minimal/", MinimalAPI.as_view()),
    path("", include("classpass.urls")),
]
