from django.http import JsonResponse

from course_catalog.models import Podcast


def podcast_list(request):
    return JsonResponse({"results": list(Podcast.objects.order_by("id").values("id", "title"))})
