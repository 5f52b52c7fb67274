from django.core.management.base import BaseCommand, CommandError

from smsgate.models import ApiKey, Tenant


class Command(BaseCommand):
    help = "Issue an API key for a tenant. The raw key is printed once, as the last line."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True, help="tenant slug")
        parser.add_argument("--create-tenant", action="store_true", help="create the tenant if it does not exist")
        parser.add_argument("--name", default="", help="a label for the key")
        parser.add_argument("--region", default="", help="default region (ISO code) for a new tenant")

    def handle(self, *args, tenant: str, create_tenant: bool, name: str, region: str, **options):
        found = Tenant.objects.filter(slug=tenant).first()
        if found is None:
            if not create_tenant:
                raise CommandError(f"No tenant {tenant!r}; pass --create-tenant to create it.")
            found = Tenant.objects.create(slug=tenant, name=tenant, **({"default_region": region} if region else {}))
            self.stderr.write(f"Created tenant {tenant!r}.")
        key, raw_key = ApiKey.issue(tenant=found, name=name)
        self.stderr.write(f"Key {key.key_prefix}… for tenant {found.slug!r}. Store it now: it is not shown again.")
        self.stdout.write(raw_key)
