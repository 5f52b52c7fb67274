"""Recipients are no longer marked queued one by one: the campaign keeps a cursor instead.

Chunks were marked queued by id range, so the queued recipients of a campaign are
the ones up to its highest queued id; that id becomes the campaign's cursor.
"""

import django.db.models.deletion
from django.db import migrations, models

CURSOR_FROM_QUEUED = """
UPDATE campaigns_campaign SET enqueue_cursor = COALESCE(
    (SELECT MAX(id) FROM campaigns_recipient r WHERE r.campaign_id = campaigns_campaign.id AND r.queued), 0)
"""
QUEUED_FROM_CURSOR = """
UPDATE campaigns_recipient SET queued = (
    id <= (SELECT enqueue_cursor FROM campaigns_campaign c WHERE c.id = campaigns_recipient.campaign_id))
"""


class Migration(migrations.Migration):

    dependencies = [
        ('campaigns', '0001_initial'),
        ('templates', '0001_initial'),
    ]

    operations = [
        migrations.AddField(
            model_name='campaign',
            name='enqueue_cursor',
            field=models.BigIntegerField(default=0, editable=False, help_text='Id of the last recipient processed: enqueueing resumes with the recipients after it.'),
        ),
        migrations.RunSQL(CURSOR_FROM_QUEUED, QUEUED_FROM_CURSOR),
        migrations.RemoveIndex(
            model_name='recipient',
            name='recipient_pending',
        ),
        migrations.RemoveField(
            model_name='recipient',
            name='queued',
        ),
        migrations.AddIndex(
            model_name='recipient',
            index=models.Index(fields=['campaign', 'id'], name='recipient_order'),
        ),
        migrations.AlterField(
            model_name='recipient',
            name='campaign',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='recipients', to='campaigns.campaign'),
        ),
    ]
