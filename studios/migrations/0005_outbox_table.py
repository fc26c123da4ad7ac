# Rename the outbox's table after its app (bookings_outboxmessage -> studios_outboxmessage).

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('studios', '0004_outbox_from_bookings'),
        ('bookings', '0007_outbox_to_studios'),
    ]

    operations = [
        migrations.AlterModelTable(name='outboxmessage', table=None),
    ]
