"""Start-up checks of settings that would otherwise fail only when a message is dispatched."""

from django.conf import settings
from django.core.checks import Error, register
from django.core.exceptions import ValidationError

from smsgate.quiet_hours import parse_window


@register()
def quiet_hours_setting(app_configs, **kwargs):
    try:
        parse_window(settings.SMS_QUIET_HOURS)
    except ValidationError as exc:
        return [Error(f"SMS_QUIET_HOURS: {exc.messages[0]}", id="smsgate.E001")]
    return []
