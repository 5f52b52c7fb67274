"""WebhookEvent.tenant loses its own index: unique_tribopay_event starts with tenant and serves its lookups.

Every postback paid for one more index entry. Django's AlterField would drop
and re-add the foreign key, checking every row under a lock that blocks
postbacks; only the index is dropped here, concurrently on Postgres.
"""

import django.db.models.deletion
from django.db import migrations, models

INDEX = "webhooks_webhookevent_tenant_id_2052c19f"  # the name Django gave it


def _concurrently(schema_editor) -> str:
    return " CONCURRENTLY" if schema_editor.connection.vendor == "postgresql" else ""


def drop_index(apps, schema_editor):
    schema_editor.execute(f'DROP INDEX{_concurrently(schema_editor)} IF EXISTS "{INDEX}"')


def create_index(apps, schema_editor):
    schema_editor.execute(
        f'CREATE INDEX{_concurrently(schema_editor)} IF NOT EXISTS "{INDEX}" ON "webhooks_webhookevent" ("tenant_id")'
    )


class Migration(migrations.Migration):
    atomic = False  # DROP INDEX CONCURRENTLY cannot run in a transaction

    dependencies = [
        ("smsgate", "0005_message_indexes"),
        ("webhooks", "0002_event_claimed_at"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
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
            database_operations=[migrations.RunPython(drop_index, create_index)],
        ),
    ]
