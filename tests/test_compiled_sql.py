"""The statements compiled once per process (studios/db.py, members/auth.py) write and read
exactly what the ORM would."""

import pytest
from django.forms.models import model_to_dict
from knox.models import AuthToken
from rest_framework.exceptions import AuthenticationFailed

from bookings.models import Reservation
from members.auth import TokenAuthentication
from members.models import CreditEntry, CreditKind
from studios.db import batched, insert, save_fields, take_id
from studios.models import OutboxMessage
from tests import factories

pytestmark = pytest.mark.django_db


def stored(obj) -> dict:
    """The row's editable columns as read back, without the primary key."""
    row = type(obj).objects.get(pk=obj.pk)
    fields = [f.name for f in type(obj)._meta.concrete_fields]
    return {
        k: v for k, v in model_to_dict(row, fields=fields).items() if k not in {"id", "public_id"}
    }


def new_reservation(member, session, **fields) -> Reservation:
    return Reservation(
        member=member,
        session=session,
        studio_id=session.studio_id,
        starts_at=session.starts_at,
        credits_spent=session.credit_price,
        currency="USD",
        studio_payout_cents=1500,
        **fields,
    )


def test_insert_writes_the_row_the_orm_writes(active_member, session):
    def reservation():
        return new_reservation(active_member, session, idempotency_key=None)

    by_orm = reservation()
    by_orm.save()
    by_orm.status = "cancelled"  # another row may be live for the same member and class
    by_orm.save()
    fast = insert(reservation())
    assert fast.pk and fast.pk != by_orm.pk and not fast._state.adding
    assert fast.public_id and fast.public_id != by_orm.public_id  # callable defaults run
    assert fast.created_at is not None  # auto_now_add is applied
    assert stored(fast) == {**stored(by_orm), "status": "booked"}
    assert Reservation.objects.get(pk=fast.pk).created_at == fast.created_at

    message = insert(
        OutboxMessage(handler="h", args=[fast.pk, "booked"], available_at=fast.created_at)
    )
    assert OutboxMessage.objects.get(pk=message.pk).args == [fast.pk, "booked"]  # JSON


def test_save_fields_updates_only_the_named_columns(active_member):
    entry = insert(
        CreditEntry(
            member=active_member, kind=CreditKind.ADJUSTMENT, amount=5, balance_after=5, note="x"
        )
    )
    assert CreditEntry.objects.get(pk=entry.pk).note == "x"
    active_member.credit_balance = 77
    active_member.status = "changed in memory only"
    save_fields(active_member, "credit_balance")
    active_member.refresh_from_db()
    assert active_member.credit_balance == 77 and active_member.status != "changed in memory only"


def test_token_lookup_reads_the_user_and_member_in_one_query(
    active_member, django_assert_num_queries
):
    _, token = AuthToken.objects.create(active_member.user)
    with django_assert_num_queries(1):
        user, auth = TokenAuthentication().authenticate_credentials(token.encode())
        assert user == active_member.user and auth.user_id == user.pk
        assert (
            user.member == active_member
            and user.member.credit_balance == active_member.credit_balance
        )
        assert user.member.user is user


def test_token_lookup_of_staff_without_a_member_profile_and_of_bad_tokens(
    studio, django_assert_num_queries
):
    staff = factories.StaffFactory(studio=studio).user
    _, token = AuthToken.objects.create(staff)
    with django_assert_num_queries(1):
        user, _ = TokenAuthentication().authenticate_credentials(token.encode())
        assert user == staff and getattr(user, "member", None) is None
    for bad in (token[:-1] + ("0" if token[-1] != "0" else "1"), "short", ""):
        with pytest.raises(AuthenticationFailed):
            TokenAuthentication().authenticate_credentials(bad.encode())
    staff.is_active = False
    staff.save()
    with pytest.raises(AuthenticationFailed):
        TokenAuthentication().authenticate_credentials(token.encode())


def test_flat_reservation_output_equals_drfs_own(active_member, session, studio):
    from datetime import timedelta

    from django.utils import timezone
    from rest_framework import serializers

    from bookings import services
    from bookings.api import ReservationSerializer

    booked = services.book(active_member, session.pk)
    held = Reservation.objects.create(
        member=active_member,
        session=factories.ClassSessionFactory(studio=studio),
        studio=studio,
        starts_at=session.starts_at,
        kind="a_la_carte",
        premium_reason="a_la_carte",
        counter="premium",
        money_paid_cents=2500,
        currency="USD",
        studio_payout_cents=2000,
        status="held",
        hold_expires_at=timezone.now() + timedelta(minutes=10),
        idempotency_key="k",
    )
    rows = Reservation.objects.select_related("session__class_type", "session__studio")
    for reservation in [booked, *rows.filter(pk__in=[booked.pk, held.pk])]:
        serializer = ReservationSerializer(reservation)
        assert serializer.data == serializers.Serializer.to_representation(serializer, reservation)
    assert ReservationSerializer(held).data["hold_expires_at"].endswith("Z")
    assert ReservationSerializer(booked).data["hold_expires_at"] is None


def test_insert_refuses_a_model_with_save_receivers(active_member):
    from django.db.models.signals import post_save

    def receiver(**kwargs):
        pass

    post_save.connect(receiver, sender=CreditEntry)
    try:
        with pytest.raises(TypeError, match="signal receivers"):
            insert(CreditEntry(member=active_member, kind=CreditKind.ADJUSTMENT, amount=1))
        with pytest.raises(TypeError, match="signal receivers"):
            save_fields(CreditEntry.objects.first() or CreditEntry(pk=1), "note")
    finally:
        post_save.disconnect(receiver, sender=CreditEntry)
    assert not CreditEntry.objects.filter(kind=CreditKind.ADJUSTMENT, amount=1).exists()


@pytest.mark.postgres(reason="PostgreSQL's writes in WITH")
def test_a_batch_sends_its_writes_as_one_statement_that_writes_what_the_orm_writes(
    active_member, session, django_assert_num_queries
):
    reserved = take_id(Reservation)
    reservation = new_reservation(active_member, session, pk=reserved)
    entry = CreditEntry(
        member=active_member,
        kind=CreditKind.BOOKING,
        amount=-3,
        balance_after=active_member.credit_balance - 3,
        reference=f"reservation:{reserved}",
        note="batched",
    )
    active_member.credit_balance -= 3
    with django_assert_num_queries(1), batched():
        insert(reservation)
        insert(entry)
        save_fields(active_member, "credit_balance")
        assert entry.pk is None  # nothing is sent before the batch ends
    assert reservation.pk == reserved and entry.pk is not None
    assert Reservation.objects.get(pk=reserved).public_id == reservation.public_id
    by_orm = CreditEntry.objects.create(
        member=active_member,
        kind=CreditKind.BOOKING,
        amount=-3,
        balance_after=entry.balance_after,
        reference=f"reservation:{reserved}x",
        note="batched",
    )
    assert stored(entry) == {**stored(by_orm), "reference": f"reservation:{reserved}"}
    active_member.refresh_from_db()
    assert active_member.credit_balance == entry.balance_after


@pytest.mark.postgres(reason="PostgreSQL's writes in WITH")
def test_a_batch_that_fails_sends_nothing_and_refuses_a_second_update_of_a_row(active_member):
    before = CreditEntry.objects.count()
    with pytest.raises(RuntimeError), batched():
        insert(CreditEntry(member=active_member, kind=CreditKind.ADJUSTMENT, amount=1))
        raise RuntimeError("stop")
    assert CreditEntry.objects.count() == before
    with pytest.raises(ValueError, match="updated twice"), batched():
        save_fields(active_member, "credit_balance")
        save_fields(active_member, "credit_balance")


def test_a_booking_is_three_statements_on_postgresql(active_member, session, studio):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from bookings import services

    services.book(active_member, factories.ClassSessionFactory(studio=studio).pk)  # warm
    with CaptureQueriesContext(connection) as queries:
        reservation = services.book(active_member, session.pk)
    statements = [
        q["sql"].lstrip()
        for q in queries
        if "SAVEPOINT" not in q["sql"]  # the test's own
    ]
    if connection.vendor == "postgresql":
        # lock the session and the member; read under the locks; then the spot, the
        # reservation, the ledger entry, the balance and the outbox row in one statement
        assert len(statements) == 3, statements
        assert statements[0].endswith("FOR UPDATE OF s, mb")
        assert statements[2].startswith("WITH") and statements[2].count(" AS (") == 5
    else:  # one by one where there is no batching
        assert sum(s.startswith("INSERT") for s in statements) == 3, statements
    entry = CreditEntry.objects.get(reference=f"reservation:{reservation.pk}")
    active_member.refresh_from_db()
    assert active_member.credit_balance == entry.balance_after
    assert OutboxMessage.objects.filter(args=[reservation.pk, "booked"]).exists()
    session.refresh_from_db()
    assert session.network_booked == 1


def test_update_one_raises_its_refusal_and_the_transaction_keeps_nothing(active_member, session):
    from django.db import transaction

    from studios.db import update_one
    from studios.models import ClassSession

    table = ClassSession._meta.db_table
    touch = f'UPDATE "{table}" SET "capacity" = "capacity" + 0 WHERE "id" = %s'
    before = CreditEntry.objects.count()
    with pytest.raises(LookupError, match="gone"), transaction.atomic(), batched():
        insert(
            CreditEntry(member=active_member, kind=CreditKind.ADJUSTMENT, amount=1, balance_after=1)
        )
        update_one(touch, [session.pk + 1000], LookupError("gone"))  # no such row
    assert CreditEntry.objects.count() == before
    with transaction.atomic(), batched():
        update_one(touch, [session.pk], LookupError("gone"))  # one row: no refusal
        entry = insert(
            CreditEntry(member=active_member, kind=CreditKind.ADJUSTMENT, amount=1, balance_after=1)
        )
    assert CreditEntry.objects.filter(pk=entry.pk).exists()
