from django.conf import settings
from django.db import connection
from django.http import HttpResponse, JsonResponse

FEATURES = [app for app in ("channels", "course_catalog", "search") if app in settings.INSTALLED_APPS]


def home(request):
    return HttpResponse(
        "<!doctype html><title>open-discussions</title><h1>open-discussions</h1>"
        "<p>features: %s</p><script src=\"%sbundle.js\"></script>" % (", ".join(FEATURES), settings.STATIC_URL))


def healthz(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok", "features": FEATURES})
