"""Choosing and rendering a template variant for one recipient."""

import hashlib
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction

from templates.models import MessageTemplate, TemplateVariant
from templates.rendering import MissingVariables, TemplateError, render


@dataclass(frozen=True)
class Rendered:
    body: str
    variant: TemplateVariant


def pick_variant(template: MessageTemplate, recipient: str, variants: list[TemplateVariant] | None = None):
    """The same recipient always gets the same variant; recipients split by weight.

    A hash of template code and recipient picks a point on the total weight,
    so the choice is stable across processes and re-sends, with no state.
    """
    variants = variants if variants is not None else list(template.variants.all())
    weighted = [v for v in variants if v.weight > 0]
    if not weighted:
        raise ValidationError({"template_code": [f"Template {template.code!r} has no variant with weight > 0."]})
    total = sum(v.weight for v in weighted)
    digest = hashlib.sha256(f"{template.code}:{recipient}".encode()).digest()
    point = int.from_bytes(digest[:8], "big") % total
    for variant in weighted:
        if point < variant.weight:
            return variant
        point -= variant.weight
    raise AssertionError("unreachable: point is below the total weight")


def active_template(tenant, code: str) -> MessageTemplate:
    template = MessageTemplate.objects.filter(tenant=tenant, code=code, is_active=True).first()
    if template is None:
        raise ValidationError({"template_code": [f"No active template {code!r}."]})
    return template


def render_variant(variant: TemplateVariant, data: dict) -> str:
    """The variant's body filled with `data`; a ValidationError on template_data if anything is missing."""
    try:
        return render(variant.body, data)
    except MissingVariables as exc:
        raise ValidationError({"template_data": [str(exc)]}) from None
    except TemplateError as exc:
        raise ValidationError({"template_code": [str(exc)]}) from None


def render_for(tenant, code: str, data: dict, recipient: str) -> Rendered:
    template = active_template(tenant, code)
    variant = pick_variant(template, recipient)
    return Rendered(body=render_variant(variant, data or {}), variant=variant)


@transaction.atomic
def template_create(*, tenant, code: str, name: str = "", variants: list[dict]) -> MessageTemplate:
    if MessageTemplate.objects.filter(tenant=tenant, code=code).exists():
        raise ValidationError({"code": [f"A template {code!r} already exists."]})
    template = MessageTemplate.objects.create(tenant=tenant, code=code, name=name)
    for spec in variants:
        variant = TemplateVariant(template=template, **spec)
        variant.full_clean(exclude=["template"])
        variant.save()
    return template
