"""The product's URLs plus one minimal view: the ceiling an HTTP benchmark measures beside it."""

from django.db import connection, transaction
from django.http import JsonResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt


@csrf_exempt
def minimal(request, slot: int):
    """One conditional row update and one insert, in a transaction: nothing else."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE bench_slot SET used = used + 1 WHERE id = %s AND used < cap", [slot])
        ok = cursor.rowcount == 1
        if ok:
            cursor.execute("INSERT INTO bench_row (slot, who, at) VALUES (%s, 0, now())", [slot])
    return JsonResponse({"ok": ok}, status=201 if ok else 409)


urlpatterns = [
    path("bench/minimal/<int:slot>/", minimal),
    path("", include("classpass.urls")),
]
