import logging

from celery import shared_task

from notifications.models import NotificationSettings

log = logging.getLogger(__name__)


@shared_task
def send_digests():
    log.info("digests for %d subscribers", NotificationSettings.objects.count())
