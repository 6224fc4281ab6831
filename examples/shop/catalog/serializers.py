"""Catalog API serializers."""
from rest_framework import serializers

from catalog.models import Product, Tag


class TagSerializer(serializers.ModelSerializer):
    """A tag."""

    class Meta:
        model = Tag
        fields = ["id", "name"]


class ProductSerializer(serializers.ModelSerializer):
    """A product with its category name and tags."""

    category_name = serializers.CharField(source="category.name", read_only=True)
    tags = TagSerializer(many=True, read_only=True)

    class Meta:
        model = Product
        fields = ["id", "name", "price", "category_name", "tags"]
