"""Drop the class session's single-column indexes on studio and schedule: the composite
indexes session_studio_starts_at and session_unique_per_schedule_slot lead with those columns
and serve the same lookups. Only the indexes go; the foreign keys stay as they are. Django's own
AlterField would drop and re-add each foreign key constraint, which checks every row under a
lock that blocks bookings. On PostgreSQL the indexes are dropped concurrently, so bookings go on
meanwhile.
"""

import django.db.models.deletion
from django.db import migrations, models

from studios.migration_ops import drop_indexes

INDEXES = {
    # index name: (table, column), as Django named the index of a foreign key
    "studios_classsession_schedule_id_317d1035": ("studios_classsession", "schedule_id"),
    "studios_classsession_studio_id_b8b5e2ea": ("studios_classsession", "studio_id"),
}


class Migration(migrations.Migration):
    atomic = False  # PostgreSQL drops an index concurrently only outside a transaction

    dependencies = [
        ("studios", "0006_market_currency_validated"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="classsession",
                    name="schedule",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="sessions",
                        to="studios.schedule",
                    ),
                ),
                migrations.AlterField(
                    model_name="classsession",
                    name="studio",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="sessions",
                        to="studios.studio",
                    ),
                ),
            ],
            database_operations=[drop_indexes(INDEXES)],
        ),
    ]
