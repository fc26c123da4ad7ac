"""Drop the foreign keys' own indexes that a composite index of the model leads with
(studios.migration_ops.drop_indexes says why and how)."""

import django.db.models.deletion
from django.db import migrations, models

from studios.migration_ops import drop_indexes


INDEXES = {
    # index name: (table, column), as Django named the index of each foreign key
    "premium_opportunity_studio_id_960034fe": ("premium_opportunity", "studio_id"),
    "premium_premiumprice_studio_id_59959865": ("premium_premiumprice", "studio_id"),
    "premium_scanchunk_run_id_8b2902ad": ("premium_scanchunk", "run_id"),
    "premium_smartspotrelease_studio_id_4d1da0ae": ("premium_smartspotrelease", "studio_id"),
}


class Migration(migrations.Migration):
    atomic = False  # PostgreSQL drops an index concurrently only outside a transaction

    dependencies = [
        ("premium", "0003_scan_run_category_history"),
        ("studios", "0008_fk_indexes_covered"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="opportunity",
                    name="studio",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="opportunities",
                        to="studios.studio",
                    ),
                ),
                migrations.AlterField(
                    model_name="premiumprice",
                    name="studio",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="premium_prices",
                        to="studios.studio",
                    ),
                ),
                migrations.AlterField(
                    model_name="scanchunk",
                    name="run",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="chunks",
                        to="premium.scanrun",
                    ),
                ),
                migrations.AlterField(
                    model_name="smartspotrelease",
                    name="studio",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="smartspot_releases",
                        to="studios.studio",
                    ),
                ),
            ],
            database_operations=[drop_indexes(INDEXES)],
        ),
    ]
