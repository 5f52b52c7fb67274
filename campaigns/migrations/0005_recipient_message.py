"""Recipients are linked to their message (RecipientMessage); campaign messages no longer borrow custom_id.

Existing contacts, and recipients of marketing campaigns not enqueued yet, are
recorded as having given marketing consent, so that the consent check added
with this release does not cancel campaigns operators prepared before it.
"""

import django.db.models.deletion
from django.db import migrations, models

LINK_MESSAGES = """
INSERT INTO campaigns_recipientmessage (recipient_id, message_id)
SELECT r.id, m.id
  FROM campaigns_recipient AS r
  JOIN smsgate_message AS m
    ON m.source_type = 'campaign' AND m.source_id = CAST(r.campaign_id AS varchar(64))
   AND m.custom_id = CAST(r.id AS varchar(100))
ON CONFLICT DO NOTHING;
UPDATE smsgate_message SET custom_id = '' WHERE source_type = 'campaign' AND custom_id <> '';
"""

UPGRADE_SOURCE = "'recorded before consent checks (upgrade)'"
EXISTING_CONSENTS = f"""
INSERT INTO smsgate_marketingconsent (tenant_id, phone, source, created_at)
SELECT tenant_id, phone, {UPGRADE_SOURCE}, now() FROM campaigns_contact
ON CONFLICT DO NOTHING;
INSERT INTO smsgate_marketingconsent (tenant_id, phone, source, created_at)
SELECT c.tenant_id, r.phone, {UPGRADE_SOURCE}, now()
  FROM campaigns_recipient AS r JOIN campaigns_campaign AS c ON c.id = r.campaign_id
 WHERE c.message_type = 'marketing' AND c.status IN ('draft', 'scheduled', 'running')
ON CONFLICT DO NOTHING;
"""


class Migration(migrations.Migration):

    dependencies = [
        ('campaigns', '0004_campaign_checks'),
        ('smsgate', '0009_marketing_consent'),
    ]

    operations = [
        migrations.CreateModel(
            name='RecipientMessage',
            fields=[
                ('recipient', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='sent', serialize=False, to='campaigns.recipient')),
                ('message', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='campaign_recipient', to='smsgate.message')),
            ],
        ),
        migrations.RunSQL(LINK_MESSAGES, migrations.RunSQL.noop),
        migrations.RunSQL(EXISTING_CONSENTS, migrations.RunSQL.noop),
    ]
