"""Data migrations of the members app, run over rows made before them."""

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("members", "0007_savedstudio")]
AFTER = [("members", "0008_member_email_confirmed_at")]


@pytest.mark.django_db(transaction=True)
def test_members_from_before_address_confirmation_count_as_confirmed_from_their_sign_up():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    try:
        old = executor.loader.project_state(BEFORE).apps
        market = old.get_model("studios", "Market").objects.create(
            name="Old Town",
            slug="old-town",
            timezone="UTC",
            currency="USD",
            credit_value_cents=200,
        )
        user = old.get_model("auth", "User").objects.create(username="old@example.com")
        member = old.get_model("members", "Member").objects.create(user=user, home_market=market)
        joined = datetime(2025, 3, 4, 5, 6, tzinfo=UTC)
        old.get_model("members", "Member").objects.filter(pk=member.pk).update(created_at=joined)
        executor = MigrationExecutor(connection)  # the graph as it is now
        executor.migrate(AFTER)
        new = executor.loader.project_state(AFTER).apps
        confirmed = new.get_model("members", "Member").objects.get(pk=member.pk)
        assert confirmed.email_confirmed_at == joined
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
