"""Template tasks: thin wrappers around templates.ab."""

from celery import shared_task


@shared_task(name="templates.evaluate_ab_tests")
def evaluate_ab_tests_task() -> int:
    """Every 5 minutes: decide the automatic A/B tests that have enough sample; how many winners were chosen."""
    from templates.ab import evaluate_all

    return evaluate_all()
