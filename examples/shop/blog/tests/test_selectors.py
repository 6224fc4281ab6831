"""Tests of the blog selectors."""
import pytest

from blog.models import Post
from blog.selectors import post_get, post_titles


@pytest.fixture
def post(db) -> Post:
    return Post.objects.create(title="Hello", body="World")


def test_post_get(post) -> None:
    found: Post = post_get(post.pk)
    assert found == post


def test_post_titles(post):
    assert post_titles(limit=1) == ["Hello"]
