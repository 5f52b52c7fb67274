"""A JSON field encrypted at rest with Fernet (cryptography), for provider credentials.

FIELD_ENCRYPTION_KEY holds one or more comma-separated Fernet keys: the first
encrypts, every one decrypts (MultiFernet), so keys can be rotated by putting
a new key first. Without a key, development derives one from SECRET_KEY; a
non-DEBUG deployment refuses to store secrets rather than do that.
"""

import base64
import hashlib
import json
import logging

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models

logger = logging.getLogger(__name__)


class DecryptionError(ValueError):
    """A stored value could not be decrypted with any FIELD_ENCRYPTION_KEY."""


def _fernet() -> MultiFernet:
    keys = [k.strip() for k in settings.FIELD_ENCRYPTION_KEY.split(",") if k.strip()]
    if not keys:
        if not settings.DEBUG:
            raise ImproperlyConfigured(
                "FIELD_ENCRYPTION_KEY is required to store provider credentials; create one with "
                "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
            )
        logger.warning("FIELD_ENCRYPTION_KEY is not set: deriving a development key from SECRET_KEY")
        keys = [base64.urlsafe_b64encode(hashlib.sha256(settings.SECRET_KEY.encode()).digest()).decode()]
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except ValueError as exc:
        raise ImproperlyConfigured(f"FIELD_ENCRYPTION_KEY holds an invalid Fernet key: {exc}") from None


def encrypt(value) -> str:
    return _fernet().encrypt(json.dumps(value).encode()).decode()


def decrypt(token: str):
    try:
        return json.loads(_fernet().decrypt(token.encode()))
    except InvalidToken:
        raise DecryptionError("stored credentials cannot be decrypted with FIELD_ENCRYPTION_KEY") from None


class EncryptedJSONField(models.TextField):
    """Stores any JSON value as a Fernet token; the database never sees the plain text."""

    def from_db_value(self, value, expression, connection):
        return None if value is None else decrypt(value)

    def to_python(self, value):
        if value is None or not isinstance(value, str):
            return value
        return json.loads(value) if value.lstrip().startswith(("{", "[")) else value

    def get_prep_value(self, value):
        return None if value is None else encrypt(value)
