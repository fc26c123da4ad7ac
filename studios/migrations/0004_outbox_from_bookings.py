# The outbox moves from bookings to studios, the lowest app, so that members and studios can
# write to it too. Its rows stay where they are: this migration only takes the model into the
# studios app's state (on the old table), bookings.0007 drops it from the bookings app's state,
# and studios.0005 renames the table.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('bookings', '0006_drop_redundant_fk_indexes'),
        ('studios', '0003_retire_class_types_and_instructors'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='OutboxMessage',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('handler', models.CharField(help_text='Dotted path of the function to call.', max_length=120)),
                        ('args', models.JSONField(default=list)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('available_at', models.DateTimeField(help_text='Not run before; a claim pushes it out as a lease.')),
                        ('done_at', models.DateTimeField(blank=True, null=True)),
                        ('attempts', models.PositiveSmallIntegerField(default=0)),
                        ('last_error', models.TextField(blank=True)),
                    ],
                    options={
                        'ordering': ['id'],
                        'db_table': 'bookings_outboxmessage',
                        'indexes': [models.Index(condition=models.Q(('done_at__isnull', True)), fields=['available_at'], name='outbox_pending')],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
