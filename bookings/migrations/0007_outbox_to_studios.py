# The outbox model now belongs to the studios app (studios.0004); its table and rows stay.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('bookings', '0006_drop_redundant_fk_indexes'),
        ('studios', '0004_outbox_from_bookings'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name='OutboxMessage')],
            database_operations=[],
        ),
    ]
