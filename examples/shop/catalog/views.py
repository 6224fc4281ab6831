"""Catalog views: an HTML price list and the product API."""
from django.http import HttpRequest, HttpResponse
from rest_framework import viewsets

from catalog.models import Product, Review
from catalog.serializers import ProductSerializer


def price_list(request: HttpRequest) -> HttpResponse:
    """One line per product, with its category and review count."""
    lines = []
    for product in Product.objects.all():
        lines.append(f"{product.name} ({product.category.name}): {product.reviews.count()} reviews")
    return HttpResponse("\n".join(lines))


def review_authors(request: HttpRequest, product_ids: list[int]) -> HttpResponse:
    """The authors of the first review of each product."""
    names = []
    for product_id in product_ids:
        review = Review.objects.filter(product_id=product_id).first()
        if review is not None:
            names.append(str(review.author_id))
    return HttpResponse(", ".join(names))


def category_names(request: HttpRequest) -> HttpResponse:
    """The category of every product, loaded with the products."""
    products = Product.objects.select_related("category__name")
    return HttpResponse("\n".join(f"{p.name}: {p.category.name}" for p in products))


class ProductViewSet(viewsets.ModelViewSet):
    """The product API."""

    queryset = Product.objects.all()
    serializer_class = ProductSerializer


def apply_discount(request: HttpRequest, percent: int) -> HttpResponse:
    """Lower every product's price by ``percent``."""
    for product in Product.objects.all():
        product.price = product.price * (100 - percent) / 100
        product.save()
    return HttpResponse("done")
