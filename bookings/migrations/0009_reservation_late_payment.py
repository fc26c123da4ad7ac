from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("bookings", "0008_reservation_reminded_at"),
        ("members", "0009_payment_pending"),
        ("studios", "0006_market_currency_validated"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="reservation",
            index=models.Index(
                condition=models.Q(
                    ("hold_expires_at__isnull", False),
                    ("payment__isnull", False),
                    ("status__in", ["held", "expired", "cancelled"]),
                ),
                fields=["payment"],
                name="reservation_late_payment",
            ),
        ),
    ]
