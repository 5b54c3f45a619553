import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "open_discussions.settings")
app = Celery("open_discussions")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
