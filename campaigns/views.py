"""GET /r/<code>: a tracked short link. Records the click, then redirects to the campaign's URL."""

from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404

from campaigns.models import Click, Recipient
from campaigns.selectors import recipient_variant_id


def follow_link(request, code: str):
    recipient = get_object_or_404(Recipient.objects.select_related("campaign"), link_code=code)
    target = recipient.campaign.target_url
    if not target:
        raise Http404("this campaign has no link")
    Click.objects.create(recipient=recipient, variant_id=recipient_variant_id(recipient),
                         ip=request.META.get("REMOTE_ADDR"), user_agent=request.headers.get("User-Agent", "")[:255])
    return HttpResponseRedirect(target)
