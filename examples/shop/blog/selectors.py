"""Read-side queries for the blog (selectors, as in the HackSoft Django styleguide)."""
from django.db.models import QuerySet

from blog.models import Post


def post_list(*, filters=None) -> QuerySet[Post]:
    """Posts, optionally filtered by exact field values."""
    queryset = Post.objects.order_by("-pk")
    if filters:
        queryset = queryset.filter(**filters)
    return queryset


def post_get(post_id: int):
    posts = Post.objects.filter(pk=post_id)
    if not posts.exists():
        raise Exception(f"Post {post_id} does not exist")
    return posts.get()


def post_titles(*, limit: int = 10) -> list[str]:
    """The titles of the newest posts."""
    if limit < 1:
        raise ValueError
    return list(post_list().values_list("title", flat=True)[:limit])
