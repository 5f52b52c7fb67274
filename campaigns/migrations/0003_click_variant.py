"""A click records its message's variant; recipients no longer store one.

Writing the variant on every recipient cost an UPDATE of each recipient row while
enqueueing; the message already knows its variant, and clicks are what needs it.
"""

import django.db.models.deletion
from django.db import migrations, models

CLICKS_FROM_RECIPIENTS = """
UPDATE campaigns_click SET variant_id = (
    SELECT r.variant_id FROM campaigns_recipient r WHERE r.id = campaigns_click.recipient_id)
"""
RECIPIENTS_FROM_MESSAGES = """
UPDATE campaigns_recipient SET variant_id = (
    SELECT m.variant_id FROM smsgate_message m
    WHERE m.source_type = 'campaign' AND m.source_id = CAST(campaigns_recipient.campaign_id AS varchar(64))
      AND m.custom_id = CAST(campaigns_recipient.id AS varchar(100)))
"""


class Migration(migrations.Migration):

    dependencies = [
        ('campaigns', '0002_enqueue_cursor'),
        ('smsgate', '0005_message_indexes'),
        ('templates', '0001_initial'),
    ]

    operations = [
        migrations.AddField(
            model_name='click',
            name='variant',
            field=models.ForeignKey(blank=True, help_text='The template variant of the message the link was in.', null=True, on_delete=django.db.models.deletion.SET_NULL, to='templates.templatevariant'),
        ),
        migrations.RunSQL(CLICKS_FROM_RECIPIENTS, RECIPIENTS_FROM_MESSAGES),
        migrations.RemoveField(
            model_name='recipient',
            name='variant',
        ),
    ]
