"""Drop the foreign keys' own indexes that a composite index of the model leads with
(studios.migration_ops.drop_indexes says why and how)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from studios.migration_ops import drop_indexes


INDEXES = {
    # index name: (table, column), as Django named the index of each foreign key
    "studios_studio_market_id_4af34515": ("studios_studio", "market_id"),
    "studios_staffmembership_user_id_5823569f": ("studios_staffmembership", "user_id"),
    "studios_classtype_studio_id_828e03e1": ("studios_classtype", "studio_id"),
    "studios_earningentry_studio_id_3d26c723": ("studios_earningentry", "studio_id"),
    "studios_auditentry_studio_id_0a40aac0": ("studios_auditentry", "studio_id"),
}


class Migration(migrations.Migration):
    atomic = False  # PostgreSQL drops an index concurrently only outside a transaction

    dependencies = [
        ("studios", "0007_session_fk_indexes_covered"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="auditentry",
                    name="studio",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="audit_entries",
                        to="studios.studio",
                    ),
                ),
                migrations.AlterField(
                    model_name="classtype",
                    name="studio",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="class_types",
                        to="studios.studio",
                    ),
                ),
                migrations.AlterField(
                    model_name="earningentry",
                    name="studio",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="earnings",
                        to="studios.studio",
                    ),
                ),
                migrations.AlterField(
                    model_name="staffmembership",
                    name="user",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="staff_memberships",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                migrations.AlterField(
                    model_name="studio",
                    name="market",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="studios",
                        to="studios.market",
                    ),
                ),
            ],
            database_operations=[drop_indexes(INDEXES)],
        ),
    ]
