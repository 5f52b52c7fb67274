from django.apps import AppConfig


class LeadsConfig(AppConfig):
    name = "leads"
    verbose_name = "Leads"
    periodic_tasks = {"Welcome SMS leads whose task was lost": ("leads.welcome_lost_leads", 60)}
