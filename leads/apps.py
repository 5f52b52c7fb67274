from django.apps import AppConfig


class LeadsConfig(AppConfig):
    name = "leads"
    verbose_name = "Leads"
    periodic_tasks = {"Welcome SMS leads whose task was lost": ("leads.welcome_lost_leads", 60)}

    def ready(self):
        from leads import tasks  # noqa: F401  (registers the tasks that leads.services publishes by name)
