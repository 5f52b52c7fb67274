"""The texts smsgate's own journeys send (lead welcome, code, reminder; PIX recovery), as ordinary templates.

Each tenant has its own copy of each, seeded by a migration for the tenants that existed then and on creation
for later ones, which an operator edits in the console like any template (variants, live preview). A journey
sends the tenant's active copy; when there is none (deleted, deactivated) or it cannot be rendered with the
journey's variables (an operator wrote a variable the journey does not give), it sends the built-in text below
and logs why: a journey never stops for want of a text.
"""

import logging
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction

from templates.models import MessageTemplate, TemplateVariant
from templates.rendering import compile_template
from templates.services import Rendered, render_for

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SystemTemplate:
    name: str
    body: str  # the built-in text; migration templates 0003 seeded these exact words
    sample: dict[str, str]  # every variable the journey gives, with a realistic value (the console's preview)
    optional: tuple[str, ...] = field(default=())  # variables the journey may leave empty (rendering.py)


LEAD_WELCOME = "lead-welcome"
LEAD_CODE = "lead-code"
LEAD_REMINDER = "lead-reminder"
RECOVERY_PIX = "recovery-pix"

SYSTEM_TEMPLATES = {
    LEAD_WELCOME: SystemTemplate(
        name="Lead: welcome SMS", body="Hi {name}, thank you for your request! We will contact you shortly.",
        sample={"name": "Ivan Petrov"}),
    LEAD_CODE: SystemTemplate(
        name="Lead: verification code", body="Your verification code is {code}", sample={"code": "004211"}),
    LEAD_REMINDER: SystemTemplate(
        name="Lead: appointment reminder", body="Reminder: your appointment is on {date} at {time}.",
        sample={"date": "2030-01-15", "time": "14:00"}),
    # No accents: plain GSM-7 text fits 160 characters per segment, UCS-2 only 70.
    RECOVERY_PIX: SystemTemplate(
        name="PIX recovery SMS",
        body="Oi {first_name}! Seu PIX de {amount} ainda esta pendente. Finalize seu pagamento: {payment_link}",
        sample={"name": "Maria Silva", "first_name": "Maria", "amount": "R$ 1.234,56",
                "payment_link": "https://pay.example.com/p/abc123"},
        optional=("payment_link",)),
}


def render_system(tenant, code: str, data: dict, recipient: str = "") -> Rendered:
    """The journey text `code` for this recipient: the tenant's active template (its variant, to record on the
    message), else the built-in text (no variant)."""
    system = SYSTEM_TEMPLATES[code]
    try:
        return render_for(tenant, code, data, recipient=recipient, optional=system.optional)
    except ValidationError as exc:
        if MessageTemplate.objects.filter(tenant=tenant, code=code, is_active=True).exists():
            logger.error("template %r of tenant %s cannot be sent (%s); sending the built-in text",
                         code, tenant.pk, "; ".join(exc.messages))
    return Rendered(body=compile_template(system.body).render(data, optional=system.optional), variant=None)


def unknown_variables_warning(code: str, names) -> str:
    """A warning naming the variables of `names` that the journey sending `code` does not give; "" if none."""
    unknown = [name for name in names if name not in SYSTEM_TEMPLATES[code].sample]
    if not unknown:
        return ""
    return (f"The journey does not give {', '.join(f'{{{name}}}' for name in unknown)}: until every variant "
            "that can be chosen uses only its variables, the built-in text is sent instead.")


@transaction.atomic
def seed_system_templates(tenant) -> None:
    """Give `tenant` its copy of every system template it lacks (one variant A with the built-in text)."""
    have = set(MessageTemplate.objects.filter(tenant=tenant, code__in=SYSTEM_TEMPLATES).values_list("code",
                                                                                                     flat=True))
    missing = [code for code in SYSTEM_TEMPLATES if code not in have]
    templates = MessageTemplate.objects.bulk_create(
        [MessageTemplate(tenant=tenant, code=code, name=SYSTEM_TEMPLATES[code].name) for code in missing])
    TemplateVariant.objects.bulk_create(
        [TemplateVariant(template=t, label="A", body=SYSTEM_TEMPLATES[t.code].body) for t in templates])
