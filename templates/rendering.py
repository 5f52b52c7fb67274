"""Safe rendering of message bodies with {name}-style variables.

Only plain names are allowed ({name}, {PRENOM_ENFANT}): no attribute or
index access, no format specs, no conversions, so a template can read the
values it is given and nothing else. `{{` and `}}` write literal braces.
"""

import re
from string import Formatter

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class TemplateError(ValueError):
    """The template text itself is not valid."""


class MissingVariables(ValueError):
    def __init__(self, names: list[str]):
        super().__init__(f"Missing variable(s): {', '.join(names)}")
        self.names = names


def _parts(body: str):
    try:
        return list(Formatter().parse(body))
    except ValueError as exc:
        raise TemplateError(f"Invalid template: {exc}") from None


def variables(body: str) -> list[str]:
    """The variable names a template uses, in order of first use. Raises TemplateError."""
    names: list[str] = []
    for _, name, spec, conversion in _parts(body):
        if name is None:
            continue
        if not _NAME.match(name) or spec or conversion:
            raise TemplateError(f"Invalid variable {{{name}}}: use plain names like {{name}}.")
        if name not in names:
            names.append(name)
    return names


def render(body: str, data: dict) -> str:
    """Fill the template's variables from `data` (all required). Raises MissingVariables, TemplateError."""
    missing = [name for name in variables(body) if data.get(name) in (None, "")]
    if missing:
        raise MissingVariables(missing)
    out = []
    for literal, name, _, _ in _parts(body):
        out.append(literal)
        if name is not None:
            out.append(str(data[name]))
    return "".join(out)
