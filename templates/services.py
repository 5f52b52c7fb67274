"""Choosing and rendering a template variant for one recipient."""

import hashlib
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction

from templates.models import MessageTemplate, TemplateVariant
from templates.rendering import MissingVariables, TemplateError, compile_template, variables


@dataclass(frozen=True)
class Rendered:
    body: str
    variant: TemplateVariant | None  # None: a journey's built-in text (templates.system)

    @property
    def variant_id(self) -> int | None:
        return self.variant.pk if self.variant else None


def pick_variant(template: MessageTemplate, recipient: str, variants: list[TemplateVariant] | None = None):
    """The same recipient always gets the same variant; recipients split by weight.

    A hash of template code and recipient picks a point on the total weight,
    so the choice is stable across processes and re-sends, with no state.
    Once an automatic A/B test has a winner (templates.ab), every recipient gets it
    while it can be sent (not deleted, weight above 0).
    """
    variants = variants if variants is not None else list(template.variants.all())
    weighted = [v for v in variants if v.weight > 0]
    if not weighted:
        raise ValidationError({"template_code": [f"Template {template.code!r} has no variant with weight > 0."]})
    if template.ab_mode == MessageTemplate.AbMode.AUTO and template.winner_id:
        winner = next((v for v in weighted if v.pk == template.winner_id), None)
        if winner:
            return winner
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


def render_for(tenant, code: str, data: dict, recipient: str, optional: tuple[str, ...] = ()) -> Rendered:
    """Render the recipient's variant, once `data` holds every variable of every variant that can be chosen
    (but the `optional` ones: see templates.rendering).

    Checking all variants makes a request succeed or fail the same way whichever variant a recipient draws:
    otherwise a caller testing with one number would see variant A send, and variant B refuse another number.
    Each variant that can be chosen is compiled once, for both the check and the rendering.
    """
    template = active_template(tenant, code)
    variants = list(template.variants.all())
    variant = pick_variant(template, recipient, variants=variants)
    try:
        compiled = {v.pk: compile_template(v.body) for v in variants if v.weight > 0}
    except TemplateError as exc:
        raise ValidationError({"template_code": [str(exc)]}) from None
    names = dict.fromkeys(name for body in compiled.values() for name in body.variables)
    missing = [name for name in names if name not in optional and (data or {}).get(name) in (None, "")]
    if missing:
        raise ValidationError({"template_data": [str(MissingVariables(missing))]})
    return Rendered(body=compiled[variant.pk].render(data or {}, optional=optional), variant=variant)


def variable_mismatch(bodies: dict[str, str]) -> str:
    """A warning when the variants ({label: body}) do not use the same variables; "" when they do.

    Variants may differ on purpose (B without the link), so this is a warning, not a refusal: but every send
    must give the variables of all variants (render_for), which surprises whoever wrote only one of them.
    """
    used = {label: set(variables(body)) for label, body in bodies.items()}
    everywhere = set.intersection(*used.values()) if used else set()
    partial = sorted(set().union(*used.values()) - everywhere)
    if not partial:
        return ""
    where = "; ".join(f"{{{name}}} only in {', '.join(sorted(label for label in used if name in used[label]))}"
                      for name in partial)
    return (f"The variants use different variables ({where}). Every send must still give all of them, "
            "whichever variant the recipient gets, or it is refused.")


@transaction.atomic
def template_create(*, tenant, code: str, name: str = "", variants: list[dict],
                    ab_test: dict | None = None) -> MessageTemplate:
    """A template and its variants; `ab_test` ({mode, goal, min_sample, confidence}) sets up its A/B test."""
    if MessageTemplate.objects.filter(tenant=tenant, code=code).exists():
        raise ValidationError({"code": [f"A template {code!r} already exists."]})
    ab_settings = {f"ab_{key}": value for key, value in (ab_test or {}).items()}
    template = MessageTemplate.objects.create(tenant=tenant, code=code, name=name, **ab_settings)
    for spec in variants:
        variant = TemplateVariant(template=template, **spec)
        variant.full_clean(exclude=["template"])
        variant.save()
    return template
