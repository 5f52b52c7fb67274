"""Images and uploads for the MMS tests."""

import struct
import zlib

UPLOAD = "/api/v1/sms/media"
GIF = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00" \
      b"\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"


def png(width: int = 2, height: int = 2) -> bytes:
    """A real PNG of a red square (the message page shows it as a thumbnail)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def upload(api, content: bytes, name: str = "picture.png", content_type: str = "image/png"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return api.post(UPLOAD, {"file": SimpleUploadedFile(name, content, content_type=content_type)},
                    format="multipart")


def uploaded_url(api, content: bytes | None = None) -> str:
    response = upload(api, content or png())
    assert response.status_code == 201, response.content
    return response.data["url"]
