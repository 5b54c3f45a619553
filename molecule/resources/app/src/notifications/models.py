from django.conf import settings
from django.db import models

from main.models import TimestampedModel


class NotificationSettings(TimestampedModel):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    channel = models.ForeignKey("channels.Channel", null=True, blank=True, on_delete=models.CASCADE)
    trigger_frequency = models.CharField(max_length=20, default="daily")
