"""Drop the foreign keys' own indexes that a composite index of the model leads with
(studios.migration_ops.drop_indexes says why and how)."""

import django.db.models.deletion
from django.db import migrations, models

from studios.migration_ops import drop_indexes


INDEXES = {
    # index name: (table, column), as Django named the index of each foreign key
    "bookings_waitlistentry_session_id_133d32e4": ("bookings_waitlistentry", "session_id"),
}


class Migration(migrations.Migration):
    atomic = False  # PostgreSQL drops an index concurrently only outside a transaction

    dependencies = [
        ("bookings", "0009_reservation_late_payment"),
        ("studios", "0008_fk_indexes_covered"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="waitlistentry",
                    name="session",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="waitlist",
                        to="studios.classsession",
                    ),
                ),
            ],
            database_operations=[drop_indexes(INDEXES)],
        ),
    ]
