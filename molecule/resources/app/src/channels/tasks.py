import logging

from celery import shared_task

from channels.models import Channel

log = logging.getLogger(__name__)


@shared_task
def channel_digests():
    log.info("channel digests for %d channels", Channel.objects.count())
