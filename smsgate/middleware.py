"""Refuse oversized request bodies with 413 before any view reads them.

The limit is DATA_UPLOAD_MAX_MEMORY_SIZE, except for the admin's campaign
form, whose recipients CSV may add CAMPAIGN_UPLOAD_MAX_BYTES to it, and the
MMS media upload, whose file may add MMS_MAX_FILE_BYTES.
"""

from django.conf import settings
from django.http import JsonResponse
from django.urls import Resolver404, resolve

CAMPAIGN_UPLOAD_VIEWS = {"admin:campaigns_campaign_add", "admin:campaigns_campaign_change"}
MEDIA_UPLOAD_VIEWS = {"sms-media"}


class BodySizeLimitMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return JsonResponse({"detail": "Invalid Content-Length."}, status=400)
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is not None and length > limit:
            limit += _upload_allowance(request)
        if limit is not None and length > limit:
            return JsonResponse({"detail": f"Request body too large: the limit is {limit} bytes."}, status=413)
        return self.get_response(request)


def _upload_allowance(request) -> int:
    """The bytes a file upload may add to the limit: a campaign's CSV or an MMS image, else none."""
    if request.method != "POST" or not request.content_type.startswith("multipart/"):
        return 0
    try:
        view_name = resolve(request.path_info).view_name
    except Resolver404:
        return 0
    if view_name in CAMPAIGN_UPLOAD_VIEWS:
        return settings.CAMPAIGN_UPLOAD_MAX_BYTES
    if view_name in MEDIA_UPLOAD_VIEWS:
        return settings.MMS_MAX_FILE_BYTES
    return 0
