"""Safe rendering of message bodies with {name}-style variables.

Only plain names are allowed ({name}, {PRENOM_ENFANT}): no attribute or
index access, no format specs, no conversions, so a template can read the
values it is given and nothing else. `{{` and `}}` write literal braces.
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

    def render(self, data: dict) -> str:
        missing = [name for name in self.variables if data.get(name) in (None, "")]
        if missing:
            raise MissingVariables(missing)
        return "".join(literal + (str(data[name]) if name is not None else "") for literal, name in self.parts)


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
