"""A callback a fake carrier makes to smsgate, replayed through Django's test client."""

from dataclasses import dataclass, field
from urllib.parse import urlencode


@dataclass
class Callback:
    path: str  # with its query string
    body: bytes | str = b""
    content_type: str = "application/x-www-form-urlencoded"
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def form(cls, path: str, params: dict[str, str], **kwargs) -> "Callback":
        return cls(path, urlencode(params), **kwargs)

    def post(self):
        from django.test import Client

        return Client().post(self.path, self.body, content_type=self.content_type, headers=self.headers)
