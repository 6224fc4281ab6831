"""Catalog app: products, categories, tags and reviews."""
