"""A/B tests that pick their winner, through the real road: campaign messages sent to the memory carrier and
clicked through the tracked-link view; recovery SMS sent to a fake Twilio and paid through the TriboPay webhook.
Until a winner is chosen recipients split by weight; then every new send gets the winner."""

import pytest

from campaigns.audience import import_csv
from campaigns.models import Campaign
from campaigns.services import campaign_schedule
from campaigns.tasks import start_due_campaigns_task
from smsgate.models import Message
from smsgate.sending.tasks import sweep_due_messages_task
from templates import ab
from templates.models import MessageTemplate, TemplateVariant
from templates.tasks import evaluate_ab_tests_task
from tests.ab_support import auto_template
from tests.tribopay_support import SECRET, frozen_clock, post, postback, processing
from webhooks.ingest import default_tenant
from webhooks.models import Payment, WebhookEvent

pytestmark = pytest.mark.django_db


def send_campaign(tenant, template, name: str, phones: list[str]) -> Campaign:
    """A campaign of `template` to `phones`, started and dispatched as beat and the workers do."""
    campaign = Campaign.objects.create(tenant=tenant, name=name, template=template,
                                       target_url="https://shop.example.com/promo")
    import_csv(campaign, "phone,name\n" + "".join(f"{phone},Ana\n" for phone in phones),
               consent_source="test upload")
    campaign_schedule(campaign)
    start_due_campaigns_task()
    sweep_due_messages_task()
    return campaign


def campaign_messages(campaign: Campaign) -> list[Message]:
    return list(Message.objects.filter(source_type="campaign", source_id=str(campaign.pk))
                .select_related("variant").order_by("pk"))


def labels(messages: list[Message]) -> dict[str, int]:
    found = {}
    for message in messages:
        found[message.variant.label] = found.get(message.variant.label, 0) + 1
    return found


def test_a_campaign_test_picks_the_variant_clicked_more_then_every_new_recipient_gets_it(tenant, client):
    template = auto_template(tenant, ab_min_sample=20)
    assert ab.state(template, ab.results(template)).text == "collecting: 0/20 sent for A"
    first = send_campaign(tenant, template, "week 1", [f"+5511955{n:06d}" for n in range(80)])
    messages = campaign_messages(first)
    split = labels(messages)
    assert set(split) == {"A", "B"} and min(split.values()) >= 20  # split by weight, about half each
    assert {m.status for m in messages} == {"sent"}

    # Recipients of B follow their link 3 times in 5, those of A once in 10 (one of B's twice: one recipient).
    for index, message in enumerate(messages):
        if index % 5 < 3 if message.variant.label == "B" else index % 10 == 0:
            link = message.body.split()[-1].removeprefix("https://gateway.example.com")
            assert client.get(link).status_code == 302
    assert client.get(link).status_code == 302

    assert evaluate_ab_tests_task() == 1
    template.refresh_from_db()
    assert template.winner.label == "B" and template.winner_confidence >= 95
    rates = template.winner_rates
    assert rates["B"]["sent"] == split["B"] and rates["A"]["sent"] == split["A"]
    assert rates["B"]["conversions"] > rates["A"]["conversions"]  # counted once per recipient
    assert ab.state(template, ab.results(template)).text.startswith("winner B chosen ")
    assert evaluate_ab_tests_task() == 0  # decided once

    second = send_campaign(tenant, template, "week 2", [f"+5511966{n:06d}" for n in range(30)])
    assert labels(campaign_messages(second)) == {"B": 30}


@pytest.fixture
def clock():
    with frozen_clock() as clock:
        yield clock


def deliver(payload) -> WebhookEvent:
    with processing():
        response = post(payload)
    assert response.status_code == 200, response.content
    return WebhookEvent.objects.get(pk=response.json()["event_id"])


def waiting(n: int, tag: str = "pay") -> dict:
    customer = {"phone_number": f"+55119876{n:05d}", "name": "Maria Silva", "email": "maria@example.com"}
    return postback(f"{tag}_{n}", customer=customer, payment_link=f"https://pay.example.com/p/{n}")


def test_a_recovery_test_picks_the_text_paid_after_more_often(twilio, clock, settings):
    settings.TRIBOPAY_WEBHOOK_SECRET = SECRET
    template = MessageTemplate.objects.get(tenant=default_tenant(), code="recovery-pix")
    TemplateVariant.objects.create(template=template, label="B", weight=1,
                                   body="Seu PIX de {amount} expira hoje. Pague em {payment_link}")
    MessageTemplate.objects.filter(pk=template.pk).update(ab_mode="auto", ab_goal="payments", ab_min_sample=8)

    for n in range(30):
        assert deliver(waiting(n)).outcome == "recovery_scheduled"
    clock.advance(settings.RECOVERY_DELAY_SECONDS)
    assert sweep_due_messages_task() == 30 and len(twilio.sent) == 30
    clock.advance(120)
    paid_a = 0
    for payment in Payment.objects.select_related("recovery_message__variant").order_by("pk"):
        if payment.recovery_message.variant.label == "B" or paid_a == 0:
            paid_a += payment.recovery_message.variant.label == "A"
            assert deliver(postback(payment.tribopay_id, status="paid")).outcome == "recovered"

    assert ab.evaluate(template.pk).chosen
    template.refresh_from_db()
    assert template.winner.label == "B" and template.winner_rates["A"]["conversions"] == 1
    assert template.winner_rates["B"]["rate"] == 100.0

    for n in range(30, 40):
        deliver(waiting(n))
    recovery = Message.objects.filter(source_type="payment").order_by("-pk")[:10].select_related("variant")
    assert {message.variant.label for message in recovery} == {"B"}
