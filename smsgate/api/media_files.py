"""The public side of MMS media: carriers fetch an uploaded file on its signed URL, without credentials.

A bad, tampered or expired token, or a file gone from storage, is a 404 that says nothing more.
"""

from django.http import FileResponse, Http404
from django.views.decorators.http import require_safe

from smsgate.media import media_for_token


@require_safe
def serve_media(request, token: str) -> FileResponse:
    media = media_for_token(token)
    if media is None:
        raise Http404("no such media")
    try:
        handle = media.file.open("rb")
    except OSError:
        raise Http404("no such media") from None
    response = FileResponse(handle, content_type=media.content_type)
    response["X-Content-Type-Options"] = "nosniff"  # what we sniffed is what it is, never HTML
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, max-age=3600"
    return response
