"""The blog's REST API (Django REST framework)."""
