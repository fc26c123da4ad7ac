"""Drop the foreign keys' own indexes that a composite index of the model leads with
(studios.migration_ops.drop_indexes says why and how)."""

import django.db.models.deletion
from django.db import migrations, models

from studios.migration_ops import drop_indexes


INDEXES = {
    # index name: (table, column), as Django named the index of each foreign key
    "marketing_spotlightprice_market_id_e6091f32": ("marketing_spotlightprice", "market_id"),
    "marketing_spotlightcampaign_market_id_9d161424": ("marketing_spotlightcampaign", "market_id"),
    "marketing_spotlightday_campaign_id_617c9c1e": ("marketing_spotlightday", "campaign_id"),
}


class Migration(migrations.Migration):
    atomic = False  # PostgreSQL drops an index concurrently only outside a transaction

    dependencies = [
        ("marketing", "0001_initial"),
        ("studios", "0008_fk_indexes_covered"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="spotlightcampaign",
                    name="market",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="spotlight_campaigns",
                        to="studios.market",
                    ),
                ),
                migrations.AlterField(
                    model_name="spotlightday",
                    name="campaign",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="days",
                        to="marketing.spotlightcampaign",
                    ),
                ),
                migrations.AlterField(
                    model_name="spotlightprice",
                    name="market",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="spotlight_prices",
                        to="studios.market",
                    ),
                ),
            ],
            database_operations=[drop_indexes(INDEXES)],
        ),
    ]
