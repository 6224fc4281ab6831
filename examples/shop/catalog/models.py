"""Catalog models."""
from django.conf import settings
from django.db import models


class Category(models.Model):
    """A product category."""

    name = models.CharField(max_length=100)


class Tag(models.Model):
    """A free-form product tag."""

    name = models.CharField(max_length=50)


class Product(models.Model):
    """A product for sale."""

    name = models.CharField(max_length=200)
    price = models.FloatField()
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="products")
    tags = models.ManyToManyField(Tag, blank=True)


class Review(models.Model):
    """A customer's review of a product."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="reviews")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    rating = models.PositiveSmallIntegerField()
