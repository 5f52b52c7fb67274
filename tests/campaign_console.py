"""A campaign with known progress (for the console's tests), and the admin's campaign form as an operator fills it."""

from django.urls import reverse

from campaigns.models import Campaign, Click, Recipient
from smsgate.statuses import Status
from templates.models import MessageTemplate, TemplateVariant
from tests.dashboard_support import add_message

# Ten recipients. Variant A: 3 delivered (2 clicked), 1 sent awaiting its receipt, 1 failed.
# Variant B: 2 delivered (1 clicked), 1 undelivered, 1 cancelled (opted out). Plus 1 skipped recipient.
STATUSES = {"A": [Status.DELIVERED] * 3 + [Status.SENT, Status.FAILED],
            "B": [Status.DELIVERED] * 2 + [Status.UNDELIVERED, Status.CANCELLED]}
CLICKS = {"A": 2, "B": 1}


def promo_template(tenant) -> MessageTemplate:
    template = MessageTemplate.objects.create(tenant=tenant, code="promo", name="Spring promo")
    TemplateVariant.objects.create(template=template, label="A", body="Oi {name}, -20% hoje: {URL}", weight=1)
    TemplateVariant.objects.create(template=template, label="B", body="{name}, sua oferta: {URL}", weight=1)
    return template


def seed_campaign(tenant, name="Spring promo") -> Campaign:
    """An enqueued campaign with the messages and clicks above."""
    template = MessageTemplate.objects.filter(tenant=tenant, code="promo").first() or promo_template(tenant)
    campaign = Campaign.objects.create(tenant=tenant, name=name, template=template, target_url="https://shop.example",
                                       status=Campaign.Status.ENQUEUED)
    phone = iter(f"+55119111{n:05d}" for n in range(100))
    for label, statuses in STATUSES.items():
        variant = template.variants.get(label=label)
        for index, status in enumerate(statuses):
            recipient = Recipient.objects.create(campaign=campaign, phone=next(phone), variables={"name": "Ana"})
            add_message(tenant, status, to=recipient.phone, variant=variant, source_type="campaign",
                        source_id=str(campaign.pk), custom_id=str(recipient.pk))
            if index < CLICKS[label]:
                for _ in range(2):  # clicking twice is one recipient clicked
                    Click.objects.create(recipient=recipient, variant=variant)
    last = Recipient.objects.create(campaign=campaign, phone=next(phone), error="Missing variable(s): name")
    Campaign.objects.filter(pk=campaign.pk).update(enqueue_cursor=last.pk)
    return campaign


def post_campaign(admin_client, tenant, campaign=None, **fields):
    """POST the admin's campaign form (add, or change `campaign`) with sane values overridden by `fields`."""
    data = {"tenant": tenant.pk, "name": "Kermesse", "body": "Oi {name}", "message_type": "marketing",
            "template": "", "target_url": "", "scheduled_at_0": "", "scheduled_at_1": ""}
    data.update(fields)
    url = (reverse("admin:campaigns_campaign_change", args=[campaign.pk]) if campaign
           else reverse("admin:campaigns_campaign_add"))
    return admin_client.post(url, {k: v for k, v in data.items() if v is not None})


def form_errors(response) -> dict:
    """{field: [errors]} of the admin form on the page ("__all__" for the form's own); empty when it saved."""
    if response.status_code == 302:
        return {}
    return {field: list(errors) for field, errors in response.context["adminform"].form.errors.items()}
