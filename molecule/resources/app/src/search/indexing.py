"""What each content type puts in the index."""
from django.apps import apps

from search.models import SearchDocument


def sources():
    """content type -> callable yielding (object_id, title, body); only installed apps."""
    found = {}
    if apps.is_installed("channels"):
        from channels.models import Comment, Post
        found["post"] = lambda: ((p.id, p.title, p.text) for p in Post.objects.all())
        found["comment"] = lambda: ((c.id, c.text[:80], c.text) for c in Comment.objects.all())
    from course_catalog.models import Course, Podcast
    found["podcast"] = lambda: ((p.id, p.title, p.title) for p in Podcast.objects.all())
    found["course"] = lambda: ((c.id, c.title, c.title) for c in Course.objects.all())
    return found


def rebuild(types):
    counts = {}
    for content_type, rows in sources().items():
        if content_type not in types:
            continue
        SearchDocument.objects.filter(content_type=content_type).delete()
        SearchDocument.objects.bulk_create(
            SearchDocument(content_type=content_type, object_id=oid, title=title, body=body)
            for oid, title, body in rows())
        counts[content_type] = SearchDocument.objects.filter(content_type=content_type).count()
    return counts
