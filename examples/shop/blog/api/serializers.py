"""Serializers of the blog API."""
from django.contrib.auth import get_user_model
from rest_framework import serializers

from blog.models import Post


class AuthorSerializer(serializers.ModelSerializer):
    """The public fields of a post's author."""

    class Meta:
        model = get_user_model()
        fields = ["id", "username"]


class PostSerializer(serializers.ModelSerializer):
    """A post with its author nested."""

    author = AuthorSerializer()

    class Meta:
        model = Post
        fields = ["id", "title", "body", "author"]


class PostListSerializer(serializers.ModelSerializer):
    """A post in lists: the author is only read."""

    author = AuthorSerializer(read_only=True)

    class Meta:
        model = Post
        fields = ["id", "title", "author"]
