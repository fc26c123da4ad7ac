from django.db import migrations, models


def confirm_existing(apps, schema_editor):
    """Members from before addresses were confirmed have had their receipts and reminders at
    that address all along: they are not asked to confirm it now."""
    Member = apps.get_model("members", "Member")
    Member.objects.filter(email_confirmed_at__isnull=True).update(
        email_confirmed_at=models.F("created_at")
    )


class Migration(migrations.Migration):
    dependencies = [
        ("members", "0007_savedstudio"),
    ]

    operations = [
        migrations.AddField(
            model_name="member",
            name="email_confirmed_at",
            field=models.DateTimeField(
                blank=True,
                help_text="When the member followed the link e-mailed to their address (at "
                "sign-up, or to a new address); empty until then.",
                null=True,
            ),
        ),
        migrations.RunPython(confirm_existing, migrations.RunPython.noop),
    ]
