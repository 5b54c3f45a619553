from django.db import models

TYPES = ("post", "comment", "podcast", "course")


class SearchDocument(models.Model):
    """The search index, kept in PostgreSQL: one row per indexed object."""

    content_type = models.CharField(max_length=20, db_index=True)
    object_id = models.IntegerField()
    title = models.CharField(max_length=300)
    body = models.TextField(blank=True)

    class Meta:
        unique_together = [("content_type", "object_id")]
