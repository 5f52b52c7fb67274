"""Messages and callbacks record the provider account whose credentials they went through (issue 13).

A carrier callback may then touch only messages of the account that
authenticated it. Both columns are nullable (null: the platform's settings
credentials) and unindexed: receipts still find their message through the
partial `message_provider_id` index, then compare the account. Adding a
nullable column without a default rewrites nothing on Postgres.

Messages still waiting for a receipt (status `sent`) that were sent after
their tenant's active account for that provider was created are assumed to
have gone through it, so their receipts keep arriving; older ones stay the
platform's.
"""

import django.db.models.deletion
from django.db import migrations, models


def attribute_pending_sends(apps, schema_editor):
    ProviderAccount = apps.get_model("smsgate", "ProviderAccount")
    Message = apps.get_model("smsgate", "Message")
    # Only these columns: reading the (encrypted) credentials is neither needed nor possible without the key.
    accounts = ProviderAccount.objects.filter(is_active=True).values_list("pk", "tenant_id", "provider", "created_at")
    for pk, tenant_id, provider, created_at in accounts:
        Message.objects.filter(
            tenant_id=tenant_id, provider=provider, status="sent", sent_at__gte=created_at,
        ).update(provider_account_id=pk)


def account_field():
    return models.ForeignKey(blank=True, db_constraint=False, db_index=False, null=True,
                             on_delete=django.db.models.deletion.DO_NOTHING, related_name="+",
                             to="smsgate.provideraccount")


class Migration(migrations.Migration):

    dependencies = [
        ("smsgate", "0005_message_indexes"),
    ]

    operations = [
        migrations.AddField(model_name="message", name="provider_account", field=account_field()),
        migrations.AddField(model_name="providercallback", name="provider_account", field=account_field()),
        migrations.AddField(
            model_name="providercallback",
            name="problem",
            field=models.CharField(blank=True, help_text="Why an authentic callback could not be used.",
                                   max_length=500),
        ),
        migrations.RunPython(attribute_pending_sends, migrations.RunPython.noop, elidable=True),
    ]
