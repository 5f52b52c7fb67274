"""Indexes for the dashboard (issue 14): messages by the day they go out, and recent send attempts.

Both are partial, so inserts that do not match (messages sent at once, receipts and status events)
pay nothing for them; on Postgres they are built concurrently (see smsgate.migration_operations).
"""

from django.db import migrations, models

from smsgate.migration_operations import ConcurrentlyOnPostgres, build_index, drop_index

FORWARDS = [
    *build_index("smsgate_message", "message_send_at", '("send_at") WHERE "send_at" IS NOT NULL'),
    *build_index("smsgate_messageevent", "event_attempt_created", """("created_at") WHERE "kind" = 'attempt'"""),
]
BACKWARDS = [drop_index("message_send_at"), drop_index("event_attempt_created")]


class Migration(migrations.Migration):
    atomic = False  # CREATE/DROP INDEX CONCURRENTLY cannot run in a transaction

    dependencies = [
        ("smsgate", "0007_provider_name_choices"),
    ]

    operations = [
        ConcurrentlyOnPostgres(
            postgres_forwards=FORWARDS,
            postgres_backwards=BACKWARDS,
            operations=[
                migrations.AddIndex(
                    model_name="message",
                    index=models.Index(condition=models.Q(("send_at__isnull", False)), fields=["send_at"],
                                       name="message_send_at"),
                ),
                migrations.AddIndex(
                    model_name="messageevent",
                    index=models.Index(condition=models.Q(("kind", "attempt")), fields=["created_at"],
                                       name="event_attempt_created"),
                ),
            ],
        ),
    ]
