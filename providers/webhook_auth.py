"""Authenticating carrier callbacks that carry a shared secret instead of a signature.

A carrier without a signature scheme calls a URL holding a secret (`?secret=`),
or puts a token in its body (Aircall). No secret configured means every
callback is refused: never accept one unauthenticated.
"""

import hmac

from providers.base import WebhookAuthError


def check_secret(given: str, accepted: list[str] | str, what: str = "secret") -> None:
    """WebhookAuthError unless `given` equals one of the accepted secrets (constant time)."""
    candidates = [accepted] if isinstance(accepted, str) else accepted
    candidates = [secret for secret in candidates if secret]
    if not candidates:
        raise WebhookAuthError(f"no callback {what} is configured, so callbacks are refused")
    if not given or not any(hmac.compare_digest(given.encode(), secret.encode()) for secret in candidates):
        raise WebhookAuthError(f"missing or wrong callback {what}")


def check_url_secret(request, secret: str) -> None:
    check_secret(request.GET.get("secret", ""), secret)
