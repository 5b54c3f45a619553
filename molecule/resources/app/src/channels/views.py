from django.http import Http404, JsonResponse

from channels.models import Channel


def channel_page(request, name):
    try:
        channel = Channel.objects.get(name=name)
    except Channel.DoesNotExist:
        raise Http404("no channel %s" % name)
    posts = list(channel.posts.order_by("id").values("id", "title"))
    return JsonResponse({"name": channel.name, "title": channel.title, "posts": posts})


def channel_list(request):
    return JsonResponse({"results": list(Channel.objects.order_by("name").values("name", "title"))})
