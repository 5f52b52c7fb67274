"""The recovery SMS text: BRL amounts and safe rendering of a tenant's template.

Templates are edited by operators, so rendering must not be able to run
code: `str.format` would allow `{name.__class__}` or `{name[0]}`. Instead
the template is split with `string.Formatter().parse` and only bare,
known placeholder names are substituted; anything else is a validation error.
"""

import logging
import string

logger = logging.getLogger(__name__)

# No accents: plain GSM-7 text fits 160 characters per segment, UCS-2 only 70.
DEFAULT_TEMPLATE = "Oi {first_name}! Seu PIX de {amount} ainda esta pendente. Finalize seu pagamento: {payment_link}"
PLACEHOLDERS = ("name", "first_name", "amount", "payment_link")


def format_brl(cents: int | None) -> str:
    """1234567 -> 'R$ 12.345,67' (Brazilian thousands and decimal separators)."""
    reais, centavos = divmod(int(cents or 0), 100)
    return f"R$ {reais:,}".replace(",", ".") + f",{centavos:02d}"


def template_errors(template: str) -> list[str]:
    """What is wrong with a template; empty when it is safe to render."""
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError as exc:
        return [f"Unbalanced braces: {exc}. Write {{{{ and }}}} for literal braces."]
    errors = []
    for _, field, spec, conversion in parts:
        if field is None:
            continue
        if field not in PLACEHOLDERS:
            errors.append(f"Unknown placeholder {{{field}}}; use only " + ", ".join(f"{{{p}}}" for p in PLACEHOLDERS))
        elif spec or conversion:
            errors.append(f"Placeholder {{{field}}} must not have a format spec or conversion.")
    return errors


def render(template: str, values: dict[str, str]) -> str:
    """Substitute placeholders; an invalid template falls back to the default one (and logs).

    Without a payment link, the colon or dash that led to it goes too, and a
    link that ended the text ends its sentence: "... pagamento: {payment_link}"
    becomes "... pagamento." instead of dangling.
    """
    if template_errors(template):
        logger.error("invalid recovery template %r; using the default", template)
        template = DEFAULT_TEMPLATE
    parts = list(string.Formatter().parse(template))
    text = ""
    for index, (literal, field, _, _) in enumerate(parts):
        if field == "payment_link" and not values.get(field):
            ends_text = not "".join(lit + (f or "") for lit, f, _, _ in parts[index + 1:]).strip()
            text += _without_lead_in(literal, ends_text)
        else:
            text += literal + (values.get(field, "") if field is not None else "")
    return text


def _without_lead_in(text: str, ends_text: bool) -> str:
    """The text before a missing link, without its trailing colon or dash; a full stop if the link ended it all."""
    stripped = text.rstrip(" :-\u2013\u2014")
    if not ends_text:
        return stripped
    return stripped if not stripped or stripped[-1] in ".!?" else stripped + "."


def recovery_values(*, name: str, amount_cents: int | None, payment_link: str) -> dict[str, str]:
    name = " ".join(name.split())
    return {
        "name": name or "cliente",
        "first_name": name.split(" ")[0] if name else "cliente",
        "amount": format_brl(amount_cents),
        "payment_link": payment_link,
    }
