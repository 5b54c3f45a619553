"""Create users and podcasts now: the rows a restore of an older backup would lose."""
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.utils import timezone

from course_catalog.models import Podcast


class Command(BaseCommand):
    help = "Create N users and M podcasts now"

    def add_arguments(self, parser):
        parser.add_argument("--users", type=int, default=3)
        parser.add_argument("--podcasts", type=int, default=2)

    def handle(self, *args, **options):
        user_model = get_user_model()
        stamp = timezone.now().strftime("%Y%m%d%H%M%S%f")
        users = [user_model.objects.create(username="late_%s_%d" % (stamp, n), email="late_%s_%d@example.com" % (stamp, n))
                 for n in range(options["users"])]
        # Each new user logged in: an active session (lost by the restore, as the users are).
        from django.contrib.sessions.backends.db import SessionStore
        for user in users:
            store = SessionStore()
            store["_auth_user_id"] = str(user.pk)
            store.create()
        for n in range(options["podcasts"]):
            Podcast.objects.create(title="Late podcast %s %d" % (stamp, n), owner=users[n % len(users)] if users else None)
        self.stdout.write("created users=%d podcasts=%d" % (options["users"], options["podcasts"]))
