"""Settings of the open-discussions stand-in.

Configuration comes from an env file (KEY=VALUE lines, /etc/open-discussions/app.env or
OD_ENV_FILE); the process environment wins over the file.
"""
import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent


def _env_file(path):
    values = {}
    try:
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                line = line.strip()
                if line and not line.startswith("#") and "=" in line:
                    key, value = line.split("=", 1)
                    values[key.strip()] = value.strip()
    except FileNotFoundError:
        pass
    return values


_FILE = _env_file(os.environ.get("OD_ENV_FILE", "/etc/open-discussions/app.env"))


def env(key, default=""):
    return os.environ.get(key, _FILE.get(key, default))


SECRET_KEY = env("OD_SECRET_KEY", "insecure-demo-key")
DEBUG = env("OD_DEBUG", "false").lower() == "true"
ALLOWED_HOSTS = ["*"]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.staticfiles",
    "main",
    "channels",
    "course_catalog",
    "notifications",
    "search",
]
MIDDLEWARE = ["django.middleware.common.CommonMiddleware"]
ROOT_URLCONF = "open_discussions.urls"
WSGI_APPLICATION = "open_discussions.wsgi.application"
TEMPLATES = []

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": env("OD_DB_NAME", "open_discussions"),
        "USER": env("OD_DB_USER", "od_app"),
        "PASSWORD": env("OD_DB_PASSWORD"),
        "HOST": env("OD_DB_HOST", "127.0.0.1"),
        "PORT": env("OD_DB_PORT", "5432"),
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
USE_TZ = True
TIME_ZONE = "UTC"

STATIC_URL = "/static/"
STATIC_ROOT = env("OD_STATIC_ROOT", str(BASE_DIR / "staticfiles"))
STATICFILES_DIRS = [BASE_DIR / "frontends" / "open-discussions" / "dist"]

CELERY_BROKER_URL = env("OD_REDIS_URL", "redis://127.0.0.1:6379/0")
CELERY_RESULT_BACKEND = CELERY_BROKER_URL
CELERY_BEAT_SCHEDULE = {
    "send-digests": {"task": "notifications.tasks.send_digests", "schedule": 30.0},
    "channel-digests": {"task": "channels.tasks.channel_digests", "schedule": 30.0},
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["stderr"], "level": "INFO"},
}
