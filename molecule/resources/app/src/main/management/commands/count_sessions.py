"""Count the active sessions and the logged-in users behind them, as Django reads them (the runbook's 8.2)."""
import json

from django.contrib.sessions.models import Session
from django.core.management.base import BaseCommand
from django.utils import timezone


class Command(BaseCommand):
    help = "Print {active, users} of the sessions not expired, as JSON"

    def handle(self, *args, **options):
        active = Session.objects.filter(expire_date__gte=timezone.now())
        users = {s.get_decoded().get("_auth_user_id") for s in active} - {None}
        self.stdout.write(json.dumps({"active": active.count(), "users": len(users)}))
