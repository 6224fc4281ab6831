"""Tests of the blog's posts."""
import pytest
from django.test import TestCase

from blog.models import Post


@pytest.mark.django_db
def test_draft_posts_are_hidden(post):
    post.status = "draft"
    post.save(update_fields=["status"])
    assert not Post.objects.filter(status="published").exists()


@pytest.mark.django_db
def test_title_update(post):
    post.update(title="New title")
    assert post.title == "New title"


class PostListTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.post = Post.objects.create(title="First", body="Hello")

    def test_list(self):
        response = self.client.get("/posts/")
        assert response.status_code == 200
