from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("members", "0009_payment_pending"),
    ]

    operations = [
        migrations.AddField(
            model_name="payment",
            name="answered_late_at",
            field=models.DateTimeField(
                blank=True,
                help_text="When a payment left pending (no answer at once) was settled.",
                null=True,
            ),
        ),
        migrations.AddIndex(
            model_name="payment",
            index=models.Index(
                condition=models.Q(("answered_late_at__isnull", False), ("kind", "plan")),
                fields=["answered_late_at"],
                name="payment_plan_answered_late",
            ),
        ),
    ]
