from celery import shared_task

from search.indexing import rebuild


@shared_task
def rebuild_index(types):
    return rebuild(types)
