"""A/B tests for the tests: a template in automatic mode, and known results (messages sent, recipients who clicked)."""

from campaigns.models import Campaign, Click, Recipient, RecipientMessage
from smsgate.statuses import Status
from templates.models import MessageTemplate, TemplateVariant
from tests.dashboard_support import add_message


def auto_template(tenant, code="promo", bodies=None, **settings) -> MessageTemplate:
    """A template whose test picks its winner; `bodies` {label: body} (A and B with a tracked link by default)."""
    settings = {"ab_mode": "auto", "ab_goal": "clicks", "ab_min_sample": 20, **settings}
    template = MessageTemplate.objects.create(tenant=tenant, code=code, name="Spring promo", **settings)
    for label, body in (bodies or {"A": "Oi {name}, -20% hoje: {URL}", "B": "{name}, sua oferta: {URL}"}).items():
        TemplateVariant.objects.create(template=template, label=label, body=body, weight=1)
    return template


def seed_results(template: MessageTemplate, results: dict[str, tuple[int, int]], status=Status.SENT) -> Campaign:
    """For each label, (messages sent, recipients who clicked) in one campaign of `template`."""
    tenant = template.tenant
    campaign = Campaign.objects.create(tenant=tenant, name="seeded", template=template,
                                       target_url="https://shop.example", status=Campaign.Status.ENQUEUED)
    number = Recipient.objects.count()
    for label, (sent, clicked) in results.items():
        variant = template.variants.get(label=label)
        for index in range(sent):
            number += 1
            recipient = Recipient.objects.create(campaign=campaign, phone=f"+5511977{number:06d}")
            message = add_message(tenant, status, to=recipient.phone, variant=variant, source_type="campaign",
                                  source_id=str(campaign.pk))
            RecipientMessage.objects.create(recipient=recipient, message=message)
            if index < clicked:
                Click.objects.create(recipient=recipient, variant=variant)
    return campaign
