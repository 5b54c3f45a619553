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
        users = [user_model.objects.create(username="late_%s_%d" % (stamp, n)) for n in range(options["users"])]
        for n in range(options["podcasts"]):
            Podcast.objects.create(title="Late podcast %s %d" % (stamp, n), owner=users[n % len(users)] if users else None)
        self.stdout.write("created users=%d podcasts=%d" % (options["users"], options["podcasts"]))
