"""Rebuild the search index through Celery and wait for it, as open-discussions does.

Without a running worker the task is never picked up: the command waits until --timeout
and fails saying so (the real command hangs).
"""
from celery.exceptions import TimeoutError as CeleryTimeout
from django.core.management.base import BaseCommand, CommandError

from search.indexing import sources
from search.tasks import rebuild_index


class Command(BaseCommand):
    help = "Recreate the search index (dispatches a Celery task and waits for it)"

    def add_arguments(self, parser):
        parser.add_argument("--all", action="store_true", help="every content type")
        parser.add_argument("--type", action="append", default=[], help="one content type (repeatable)")
        parser.add_argument("--timeout", type=int, default=300, help="seconds to wait for the worker")

    def handle(self, *args, **options):
        types = sorted(sources()) if options["all"] else options["type"]
        if not types:
            raise CommandError("give --all or --type")
        unknown = set(types) - set(sources())
        if unknown:
            raise CommandError("unknown content types: %s" % ", ".join(sorted(unknown)))
        result = rebuild_index.delay(types)
        try:
            counts = result.get(timeout=options["timeout"])
        except CeleryTimeout:
            raise CommandError("no Celery worker answered within %d s: is celery_worker running?"
                               % options["timeout"])
        for content_type, count in sorted(counts.items()):
            self.stdout.write("indexed %s: %d" % (content_type, count))
