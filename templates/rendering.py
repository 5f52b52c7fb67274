"""Safe rendering of message bodies with {name}-style variables.

Only plain names are allowed ({name}, {PRENOM_ENFANT}): no attribute or
index access, no format specs, no conversions, so a template can read the
values it is given and nothing else. `{{` and `}}` write literal braces.

A caller may name variables it cannot always give (`optional`, e.g. the payment
link of a PIX recovery text). Left empty, such a variable vanishes with the
colon or dash that led to it, and if it ended the text the sentence is closed:
"... pagamento: {payment_link}" becomes "... pagamento." instead of dangling.
"""

import re
from dataclasses import dataclass
from string import Formatter

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class TemplateError(ValueError):
    """The template text itself is not valid."""


class MissingVariables(ValueError):
    def __init__(self, names: list[str]):
        super().__init__(f"Missing variable(s): {', '.join(names)}")
        self.names = names


@dataclass(frozen=True)
class CompiledTemplate:
    """A template parsed once, to render many times (campaigns render one per recipient)."""

    parts: tuple[tuple[str, str | None], ...]  # (literal text, variable name or None)
    variables: tuple[str, ...]

    def render(self, data: dict, optional: tuple[str, ...] = ()) -> str:
        missing = [name for name in self.variables if name not in optional and data.get(name) in (None, "")]
        if missing:
            raise MissingVariables(missing)
        if not optional:
            return "".join(literal + (str(data[name]) if name is not None else "") for literal, name in self.parts)
        text = ""
        for index, (literal, name) in enumerate(self.parts):
            if name is not None and data.get(name) in (None, ""):
                ends_text = not "".join(lit + (n or "") for lit, n in self.parts[index + 1:]).strip()
                text += _without_lead_in(literal, ends_text)
            else:
                text += literal + (str(data[name]) if name is not None else "")
        return text


def _without_lead_in(text: str, ends_text: bool) -> str:
    """The text before an empty optional variable, without its trailing colon or dash; a full stop if the
    variable ended it all."""
    stripped = text.rstrip(" :-\u2013\u2014")
    if not ends_text:
        return stripped
    return stripped if not stripped or stripped[-1] in ".!?" else stripped + "."


def compile_template(body: str) -> CompiledTemplate:
    """Parse and check a template. Raises TemplateError for anything but plain {names}."""
    try:
        parsed = list(Formatter().parse(body))
    except ValueError as exc:
        raise TemplateError(f"Invalid template: {exc}") from None
    names: list[str] = []
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if not _NAME.match(name) or spec or conversion:
            raise TemplateError(f"Invalid variable {{{name}}}: use plain names like {{name}}.")
        if name not in names:
            names.append(name)
    return CompiledTemplate(parts=tuple((literal, name) for literal, name, _, _ in parsed), variables=tuple(names))


def variables(body: str) -> list[str]:
    """The variable names a template uses, in order of first use. Raises TemplateError."""
    return list(compile_template(body).variables)


def render(body: str, data: dict) -> str:
    """Fill the template's variables from `data` (all required). Raises MissingVariables, TemplateError."""
    return compile_template(body).render(data)
