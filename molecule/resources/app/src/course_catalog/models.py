from django.conf import settings
from django.db import models

from main.models import TimestampedModel


class Podcast(TimestampedModel):
    title = models.CharField(max_length=300)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)


class PodcastEpisode(TimestampedModel):
    podcast = models.ForeignKey(Podcast, on_delete=models.CASCADE, related_name="episodes")
    title = models.CharField(max_length=300)


class Course(TimestampedModel):
    title = models.CharField(max_length=300)
