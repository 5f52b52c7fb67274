"""MMS (issue 16): a message's media URLs, the files tenants upload for them, and an index for the MMS filter.

Adding the column with a constant default is a metadata change on Postgres 11+ (no table rewrite). The
index is partial (SMS without media pay nothing for it) and built concurrently, so the migration is not atomic.
"""

import django.contrib.postgres.fields
import django.db.models.deletion
from django.db import migrations, models

import smsgate.models
from smsgate.migration_operations import ConcurrentlyOnPostgres, build_index, drop_index


class Migration(migrations.Migration):
    atomic = False  # CREATE/DROP INDEX CONCURRENTLY cannot run in a transaction

    dependencies = [
        ("smsgate", "0011_delivery_slo"),
    ]

    operations = [
        migrations.AddField(
            model_name="message",
            name="media_urls",
            field=django.contrib.postgres.fields.ArrayField(
                base_field=models.CharField(max_length=2000), blank=True, default=list,
                help_text="Media attachments (MMS): URLs the carrier fetches.", size=None,
            ),
        ),
        migrations.CreateModel(
            name="MediaFile",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("file", models.FileField(max_length=200, upload_to=smsgate.models.media_file_name)),
                ("content_type", models.CharField(help_text="Sniffed from the file's first bytes, never trusted.",
                                                  max_length=100)),
                ("size", models.PositiveIntegerField(help_text="Bytes.")),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("tenant", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="media_files",
                                             to="smsgate.tenant")),
            ],
            options={"ordering": ["-created_at", "-id"]},
        ),
        ConcurrentlyOnPostgres(
            postgres_forwards=build_index("smsgate_message", "message_mms_created",
                                          '("created_at") WHERE NOT ("media_urls" = \'{}\'::varchar(2000)[])'),
            postgres_backwards=[drop_index("message_mms_created")],
            operations=[
                migrations.AddIndex(
                    model_name="message",
                    index=models.Index(condition=models.Q(("media_urls", []), _negated=True), fields=["created_at"],
                                       name="message_mms_created"),
                ),
            ],
        ),
    ]
