"""Seed the demo: a tenant with an admin and a viewer, and the sandbox providers' demo accounts.

Idempotent. Prints the logins (the admin's password is regenerated on every run, so the one printed
is always the one that works).
"""

from __future__ import annotations

import secrets
from importlib import import_module

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from mlconnector.contract import registry
from mlconnector.tenants.models import Membership, Tenant


class Command(BaseCommand):
    help = "Create the demo tenant and users, and seed the sandbox providers."

    def add_arguments(self, parser):
        parser.add_argument("--password", default="", help="Use this password instead of a random one.")

    def handle(self, *args, password: str, **options):
        User = get_user_model()
        tenant, _ = Tenant.objects.get_or_create(slug="demo", defaults={"name": "Demo Books Ltd"})
        password = password or secrets.token_urlsafe(9)
        logins = []
        for username, role in (("demo", Membership.Role.ADMIN), ("viewer", Membership.Role.VIEWER)):
            user, _ = User.objects.get_or_create(username=username, defaults={"email": f"{username}@example.com"})
            user.set_password(password)
            user.save()
            Membership.objects.update_or_create(user=user, tenant=tenant, defaults={"role": role})
            logins.append((username, role))
        if settings.MLCONNECTOR_SANDBOX:
            for integration in registry.all():
                name = integration.__module__.rsplit(".", 1)[0] + ".sandbox"
                try:
                    module = import_module(name)
                except ModuleNotFoundError as exc:
                    if exc.name != name:
                        raise
                    continue
                if hasattr(module, "seed_demo"):
                    module.seed_demo()
                if hasattr(module, "seed_tenant"):  # demo configuration for the tenant (Slack rules, ...)
                    module.seed_tenant(tenant)
        url = settings.MLCONNECTOR_PUBLIC_URL
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS(f"Demo tenant '{tenant.name}' is ready."))
        for username, role in logins:
            self.stdout.write(f"  Sign in at {url}/ as {username} / {password}   ({role})")
        if settings.MLCONNECTOR_SANDBOX:
            self.stdout.write(f"  Sandbox providers: {url}/sandbox/")
        self.stdout.write("")
