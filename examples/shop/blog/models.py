"""Blog models."""
from django.db import models


class Post(models.Model):
    """A blog post."""

    title = models.CharField(max_length=200)
    body = models.TextField()

    def __str__(self) -> str:
        return self.title
