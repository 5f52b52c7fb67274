"""Uploading a recipients CSV with a new campaign through the admin, as an operator does."""

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse


def upload_csv(admin_client, tenant, data: bytes, name: str = "Upload", *, consent: bool = False):
    """POST the admin's add-campaign form with `data` as the CSV (and its consent box ticked if `consent`);
    follows the redirect to show the messages."""
    form = {
        "tenant": tenant.pk, "name": name, "body": "Oi {name}", "message_type": "marketing",
        "recipients_csv": SimpleUploadedFile("recipients.csv", data, content_type="text/csv"),
    }
    if consent:
        form["csv_has_consent"] = "on"
    return admin_client.post(reverse("admin:campaigns_campaign_add"), form, follow=True)


def form_errors(response) -> list[str]:
    """The errors shown under the CSV field; empty when the form was accepted."""
    form = response.context["adminform"].form if "adminform" in response.context else None
    return list(form.errors.get("recipients_csv", [])) if form else []


def user_messages(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]
