"""Delivery SLOs per tenant, and an index of messages by when a carrier accepted them (issue 16).

The index is partial (messages not accepted yet pay nothing for it) and built concurrently on
Postgres (see smsgate.migration_operations), so the migration is not atomic.
"""

import django.core.validators
from django.db import migrations, models

from smsgate.migration_operations import ConcurrentlyOnPostgres, build_index, drop_index


class Migration(migrations.Migration):
    atomic = False  # CREATE/DROP INDEX CONCURRENTLY cannot run in a transaction

    dependencies = [
        ("smsgate", "0010_smart_encoding"),
    ]

    operations = [
        migrations.AddField(
            model_name="tenant",
            name="slo_delivered_percent",
            field=models.PositiveSmallIntegerField(
                default=95,
                help_text="Delivery SLO: this share of the messages a carrier accepts is delivered within the "
                          "seconds below.",
                validators=[django.core.validators.MinValueValidator(1), django.core.validators.MaxValueValidator(100)],
                verbose_name="SLO: delivered percent",
            ),
        ),
        migrations.AddField(
            model_name="tenant",
            name="slo_delivered_seconds",
            field=models.PositiveIntegerField(
                default=60,
                help_text="From the carrier's acceptance to the delivery receipt (1 to 86400).",
                validators=[django.core.validators.MinValueValidator(1),
                            django.core.validators.MaxValueValidator(86400)],
                verbose_name="SLO: within seconds",
            ),
        ),
        ConcurrentlyOnPostgres(
            postgres_forwards=build_index("smsgate_message", "message_sent_at",
                                          '("sent_at") WHERE "sent_at" IS NOT NULL'),
            postgres_backwards=[drop_index("message_sent_at")],
            operations=[
                migrations.AddIndex(
                    model_name="message",
                    index=models.Index(condition=models.Q(("sent_at__isnull", False)), fields=["sent_at"],
                                       name="message_sent_at"),
                ),
            ],
        ),
    ]
