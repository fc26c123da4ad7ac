"""Drop the foreign keys' own indexes that a composite index of the model leads with
(studios.migration_ops.drop_indexes says why and how)."""

import django.db.models.deletion
from django.db import migrations, models

from studios.migration_ops import drop_indexes


INDEXES = {
    # index name: (table, column), as Django named the index of each foreign key
    "members_plan_market_id_fb44ebaf": ("members_plan", "market_id"),
    "members_payment_member_id_1617e0de": ("members_payment", "member_id"),
}


class Migration(migrations.Migration):
    atomic = False  # PostgreSQL drops an index concurrently only outside a transaction

    dependencies = [
        ("members", "0010_payment_answered_late_at"),
        ("studios", "0008_fk_indexes_covered"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="payment",
                    name="member",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="payments",
                        to="members.member",
                    ),
                ),
                migrations.AlterField(
                    model_name="plan",
                    name="market",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="plans",
                        to="studios.market",
                    ),
                ),
            ],
            database_operations=[drop_indexes(INDEXES)],
        ),
    ]
