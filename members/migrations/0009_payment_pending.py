from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("members", "0008_member_email_confirmed_at"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="payment",
            index=models.Index(
                condition=models.Q(("status", "pending")),
                fields=["created_at"],
                name="payment_pending",
            ),
        ),
    ]
