"""The one request parser of the REST API: JSON, refusing what would otherwise fail deep inside (a 500).

- Nesting beyond MAX_JSON_DEPTH (smsgate.input_safety): the decoder (and every walk over the data) recurses.
- NUL characters: Postgres text cannot store them.
- Lone surrogates (\\ud800 escapes): they cannot be encoded to UTF-8, so nothing can store or send them.

Refusals are 400 naming the field by its path, e.g. {"messages.0.phone": ["..."]}.
"""

from rest_framework import parsers
from rest_framework.exceptions import ParseError, ValidationError

from smsgate.input_safety import MAX_JSON_DEPTH, UNSTORABLE


class JsonParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(f"JSON is nested too deep: at most {MAX_JSON_DEPTH} levels.") from None
        refuse_unstorable_text(data)
        return data


def refuse_unstorable_text(data) -> None:
    """Raise ParseError for nesting beyond MAX_JSON_DEPTH, ValidationError for a NUL or lone surrogate in a key or
    value."""
    pending = [(data, "", 1)]
    while pending:
        value, path, depth = pending.pop()
        if isinstance(value, dict | list):
            if depth > MAX_JSON_DEPTH:
                raise ParseError(f"JSON is nested too deep: at most {MAX_JSON_DEPTH} levels.")
            for key, child in value.items() if isinstance(value, dict) else enumerate(value):
                _check_text(str(key), path or "body")  # a bad key is named by the object holding it
                pending.append((child, f"{path}.{key}" if path else str(key), depth + 1))
        elif isinstance(value, str):
            _check_text(value, path or "body")


def _check_text(text: str, path: str) -> None:
    if not UNSTORABLE.search(text):
        return
    if "\x00" in text:
        raise ValidationError({path: ["NUL characters (\\u0000) are not allowed."]})
    raise ValidationError({path: ["Lone surrogate characters (\\ud800-\\udfff) are not allowed."]})
