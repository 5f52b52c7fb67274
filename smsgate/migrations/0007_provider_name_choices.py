"""Provider names are choices from providers.registry (issue 13: a `twillio` left messages in `sending`).

Choices and validators live only in Django's model state: no SQL runs and no
row is rewritten. A row that already names an unknown provider stays as it is;
dispatch skips that route with the reason, and the admin asks for a valid name
when the row is next edited.
"""

from django.db import migrations, models

import providers.registry


class Migration(migrations.Migration):

    dependencies = [
        ("smsgate", "0006_provider_account_on_messages_and_callbacks"),
    ]

    operations = [
        migrations.AlterField(
            model_name="provideraccount",
            name="provider",
            field=models.CharField(choices=providers.registry.provider_choices, max_length=30),
        ),
        migrations.AlterField(
            model_name="tenant",
            name="fallback_providers",
            field=models.CharField(
                blank=True, help_text="Comma-separated, tried in order. Empty: SMS_FALLBACK_PROVIDERS.",
                max_length=200, validators=[providers.registry.validate_provider_list],
            ),
        ),
        migrations.AlterField(
            model_name="tenant",
            name="primary_provider",
            field=models.CharField(
                blank=True, choices=providers.registry.provider_choices, help_text="Empty: SMS_PRIMARY_PROVIDER.",
                max_length=30,
            ),
        ),
    ]
