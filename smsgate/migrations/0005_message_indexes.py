"""The message table keeps 5 indexes per inserted row instead of 12 (issue 7: campaign enqueue).

On Postgres the indexes are built and dropped concurrently, so sending goes
on while they change (see smsgate.migration_operations); the foreign keys
are left alone (Django would drop and re-add them to change their index).
The new source index is built under another name and renamed, so lookups by
source always have one.
"""

import django.db.models.deletion
from django.db import migrations, models

from smsgate.migration_operations import ConcurrentlyOnPostgres, build_index, drop_index

NEW_INDEXES = {
    "message_sending_claimed": """("claimed_at") WHERE "status" = 'sending'""",
    "message_sent": """("provider", "sent_at") WHERE "status" = 'sent'""",
    "message_failed_created": """("created_at") WHERE "status" IN ('failed', 'undelivered')""",
    "message_provider_id": """("provider_message_id") WHERE NOT ("provider_message_id" = '')""",
    "message_variant": """("variant_id") WHERE "variant_id" IS NOT NULL""",
}
OLD_INDEXES = {
    "smsgate_message_due_at_0e26a565": '("due_at")',
    "smsgate_message_provider_message_id_2d453bd1": '("provider_message_id")',
    "smsgate_message_provider_message_id_2d453bd1_like": '("provider_message_id" varchar_pattern_ops)',
    "smsgate_message_status_af79b2d0": '("status")',
    "smsgate_message_status_af79b2d0_like": '("status" varchar_pattern_ops)',
    "smsgate_message_tenant_id_7acfa369": '("tenant_id")',
    "smsgate_message_variant_id_98f3d246": '("variant_id")',
}
NEW_SOURCE = '("source_type", "source_id", "custom_id")'
OLD_SOURCE = '("source_type", "source_id")'


def build(name: str, definition: str) -> list[str]:
    return build_index("smsgate_message", name, definition)


def replace_source(definition: str) -> list[str]:
    return [*build("message_source_next", definition), drop_index("message_source"),
            'ALTER INDEX "message_source_next" RENAME TO "message_source"']


FORWARDS = [*(sql for name, definition in NEW_INDEXES.items() for sql in build(name, definition)),
            *replace_source(NEW_SOURCE), *(drop_index(name) for name in OLD_INDEXES)]
BACKWARDS = [*(sql for name, definition in OLD_INDEXES.items() for sql in build(name, definition)),
             *replace_source(OLD_SOURCE), *(drop_index(name) for name in NEW_INDEXES)]


class Migration(migrations.Migration):
    atomic = False  # CREATE/DROP INDEX CONCURRENTLY cannot run in a transaction

    dependencies = [
        ("smsgate", "0004_provider_accounts_and_tenant_routing"),
        ("templates", "0001_initial"),
    ]

    operations = [
        ConcurrentlyOnPostgres(
            postgres_forwards=FORWARDS,
            postgres_backwards=BACKWARDS,
            operations=[
                migrations.RemoveIndex(
                    model_name='message',
                    name='message_source',
                ),
                migrations.AlterField(
                    model_name='message',
                    name='due_at',
                    field=models.DateTimeField(help_text='When the dispatcher should next try it.'),
                ),
                migrations.AlterField(
                    model_name='message',
                    name='provider_message_id',
                    field=models.CharField(blank=True, max_length=100),
                ),
                migrations.AlterField(
                    model_name='message',
                    name='status',
                    field=models.CharField(choices=[('scheduled', 'Scheduled'), ('queued', 'Queued'), ('sending', 'Sending'), ('sent', 'Sent'), ('delivered', 'Delivered'), ('undelivered', 'Undelivered'), ('failed', 'Failed'), ('expired', 'Expired'), ('cancelled', 'Cancelled')], default='queued', max_length=12),
                ),
                migrations.AlterField(
                    model_name='message',
                    name='tenant',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='messages', to='smsgate.tenant'),
                ),
                migrations.AlterField(
                    model_name='message',
                    name='variant',
                    field=models.ForeignKey(blank=True, db_index=False, help_text='The template variant rendered into the body, if any.', null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='messages', to='templates.templatevariant'),
                ),
                migrations.AddIndex(
                    model_name='message',
                    index=models.Index(condition=models.Q(('status', 'sending')), fields=['claimed_at'], name='message_sending_claimed'),
                ),
                migrations.AddIndex(
                    model_name='message',
                    index=models.Index(condition=models.Q(('status', 'sent')), fields=['provider', 'sent_at'], name='message_sent'),
                ),
                migrations.AddIndex(
                    model_name='message',
                    index=models.Index(condition=models.Q(('status__in', ['failed', 'undelivered'])), fields=['created_at'], name='message_failed_created'),
                ),
                migrations.AddIndex(
                    model_name='message',
                    index=models.Index(fields=['source_type', 'source_id', 'custom_id'], name='message_source'),
                ),
                migrations.AddIndex(
                    model_name='message',
                    index=models.Index(condition=models.Q(('provider_message_id', ''), _negated=True), fields=['provider_message_id'], name='message_provider_id'),
                ),
                migrations.AddIndex(
                    model_name='message',
                    index=models.Index(condition=models.Q(('variant__isnull', False)), fields=['variant'], name='message_variant'),
                ),
            ],
        ),
    ]
