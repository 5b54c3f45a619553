from django.db import models


class TimestampedModel(models.Model):
    """created_on / updated_on on every content model, as in open-discussions."""

    created_on = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_on = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True
