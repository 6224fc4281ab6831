"""Publishing services."""
import logging

from django.utils import timezone

from .models import Post
from shop.settings import production

logger = logging.getLogger("blog")


def publish(post: Post) -> None:
    """Publish a post now."""
    from django.conf import settings

    post.published_at = timezone.now()
    logging.info("publishing %s", post.pk)
    print("published", post.pk, settings.DEBUG, production.DEBUG)
