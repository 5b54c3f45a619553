"""Seed the demo data (idempotent): users, channels with posts and comments, podcasts, courses."""
import datetime

from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from course_catalog.models import Course, Podcast, PodcastEpisode


class Command(BaseCommand):
    help = "Seed the demo data"

    @transaction.atomic
    def handle(self, *args, **options):
        user_model = get_user_model()
        users = [user_model.objects.get_or_create(username=name, defaults={"email": name + "@example.com"})[0]
                 for name in ("alice", "bob", "carol")]
        if apps.is_installed("channels"):
            from channels.models import Channel, ChannelSubscription, Comment, Post
            from notifications.models import NotificationSettings
            for name in ("general", "science", "music"):
                channel, created = Channel.objects.get_or_create(name=name, defaults={"title": name.title()})
                if created:
                    for number in (1, 2):
                        post = Post.objects.create(channel=channel, author=users[number], title="%s post %d"
                                                   % (name.title(), number), text="Discussion about %s" % name)
                        Comment.objects.create(post=post, author=users[0], text="A comment on %s" % post.title)
                    ChannelSubscription.objects.create(channel=channel, user=users[0])
                    NotificationSettings.objects.create(user=users[0], channel=channel)
        for title in ("Science Friday", "Music Hour"):
            podcast, created = Podcast.objects.get_or_create(title=title, defaults={"owner": users[1]})
            if created:
                PodcastEpisode.objects.create(podcast=podcast, title=title + " episode 1")
        # Sessions as Django's login writes them: alice and bob logged in, one anonymous visitor, and carol's
        # expired session (not active).
        from django.contrib.sessions.backends.db import SessionStore
        from django.contrib.sessions.models import Session
        from django.utils import timezone
        if not Session.objects.exists():
            for user, days in ((users[0], 14), (users[1], 14), (None, 14), (users[2], -1)):
                store = SessionStore()
                if user is not None:
                    store["_auth_user_id"] = str(user.pk)
                store.create()
                Session.objects.filter(session_key=store.session_key).update(
                    expire_date=timezone.now() + datetime.timedelta(days=days))
        for title in ("Intro to Science", "Music Theory"):
            Course.objects.get_or_create(title=title)
        from search.indexing import rebuild, sources
        counts = rebuild(sorted(sources()))
        self.stdout.write("seeded: users=%d index=%s" % (user_model.objects.count(), counts))
