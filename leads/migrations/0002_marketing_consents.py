"""The marketing consent of every lead that gave it becomes a MarketingConsent, which the sending policy reads."""

from django.db import migrations

LEAD_CONSENTS = """
INSERT INTO smsgate_marketingconsent (tenant_id, phone, source, created_at)
SELECT DISTINCT ON (tenant_id, phone) tenant_id, phone, 'lead form, lead #' || id, consent_at
  FROM leads_lead WHERE consent_marketing AND consent_at IS NOT NULL
 ORDER BY tenant_id, phone, id
ON CONFLICT DO NOTHING;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("leads", "0001_initial"),
        ("smsgate", "0009_marketing_consent"),
    ]

    operations = [migrations.RunSQL(LEAD_CONSENTS, migrations.RunSQL.noop)]
