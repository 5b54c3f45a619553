from django.db.models import Q
from django.http import JsonResponse

from search.indexing import sources
from search.models import SearchDocument


def search(request):
    content_type = request.GET.get("type", "")
    query = request.GET.get("q", "")
    if content_type not in sources():
        return JsonResponse({"error": "unknown type %r; one of %s" % (content_type, sorted(sources()))},
                            status=400)
    docs = SearchDocument.objects.filter(content_type=content_type)
    if query:
        docs = docs.filter(Q(title__icontains=query) | Q(body__icontains=query))
    return JsonResponse({"type": content_type, "q": query,
                         "results": list(docs.order_by("object_id").values("object_id", "title")[:50])})
