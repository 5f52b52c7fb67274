"""Celery tasks of the providers."""

from celery import shared_task


@shared_task(name="providers.console_receipt")
def console_receipt_task(provider_message_id: str, status: str, error_code: str = "", error_message: str = "") -> None:
    """The console backend's simulated delivery receipt, recorded as a carrier's callback would be."""
    from providers.base import StatusUpdate
    from smsgate.tracking import record_delivery

    update = StatusUpdate(provider_message_id=provider_message_id, status=status, error_code=error_code,
                          error_message=error_message)
    record_delivery("console", update)
