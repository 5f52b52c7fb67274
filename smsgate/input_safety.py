"""What outside input may hold that nothing downstream can store: one place for the checks every entry point shares.

Postgres text and jsonb columns refuse the NUL character, and no string holding an unpaired UTF-16
surrogate (\\ud800-\\udfff, as a JSON escape can produce) can be encoded to UTF-8. The REST API's parser
(smsgate.api.parsers), TriboPay's postbacks (webhooks.tribopay) and carrier callbacks (checked once parsed, in
smsgate.tracking.receipts) refuse or escape such text with these helpers; each entry point words its own refusal.
"""

import re
from collections.abc import Mapping

# Deepest JSON the API and TriboPay's postbacks take (theirs are 3 levels deep): decoding and every walk over
# decoded data recurse, so deeper input is refused before it can exhaust the stack.
MAX_JSON_DEPTH = 32
# Characters no database text column or JSON column can hold: NUL and unpaired UTF-16 surrogates.
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def unstorable(text: str) -> str:
    """What makes `text` impossible to store as it is (NUL, an unpaired surrogate), or ""."""
    found = UNSTORABLE.search(text)
    if found is None:
        return ""
    return "contains a NUL character" if found[0] == "\x00" else "contains an unpaired UTF-16 surrogate"


def storable(value):
    """`value` (decoded JSON) with NUL and unpaired surrogates escaped, for a JSON column.

    For raw copies kept to read later, never for a value used as a key: those are refused instead.
    """
    if isinstance(value, str):
        return UNSTORABLE.sub(lambda found: found[0].encode("utf-8", "surrogatepass").hex(" ").join("<>"), value)
    if isinstance(value, Mapping):
        return {storable(str(key)): storable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [storable(item) for item in value]
    return value
