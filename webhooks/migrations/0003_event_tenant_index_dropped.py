"""WebhookEvent.tenant loses its own index: unique_tribopay_event starts with tenant and serves its lookups.

Every postback paid for one more index entry. On Postgres only the index is
dropped, concurrently (see smsgate.migration_operations); Django's AlterField
would drop and re-add the foreign key, checking every row under a lock that
blocks postbacks.
"""

import django.db.models.deletion
from django.db import migrations, models

from smsgate.migration_operations import ConcurrentlyOnPostgres, build_index, drop_index

INDEX = "webhooks_webhookevent_tenant_id_2052c19f"  # the name Django gave it


class Migration(migrations.Migration):
    atomic = False  # DROP INDEX CONCURRENTLY cannot run in a transaction

    dependencies = [
        ("smsgate", "0005_message_indexes"),
        ("webhooks", "0002_event_claimed_at"),
    ]

    operations = [
        ConcurrentlyOnPostgres(
            postgres_forwards=[drop_index(INDEX)],
            postgres_backwards=build_index("webhooks_webhookevent", INDEX, '("tenant_id")'),
            operations=[
                migrations.AlterField(
                    model_name="webhookevent",
                    name="tenant",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="webhook_events",
                        to="smsgate.tenant",
                    ),
                ),
            ],
        ),
    ]
