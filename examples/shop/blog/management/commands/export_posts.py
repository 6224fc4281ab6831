"""Export posts as CSV."""
from django.core.management.base import BaseCommand

from blog.models import Post


class Command(BaseCommand):
    """Write every post title to standard output."""

    help = "Export posts"

    def handle(self, *args: object, **options: object) -> None:
        for post in Post.objects.all():
            print(post.title)
