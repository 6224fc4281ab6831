"""Production settings."""
import os

from .base import *  # noqa: F403

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "django-insecure-change-me")
DEBUG = True
ALLOWED_HOSTS = ["shop.example.com", "*"]

EMAIL_HOST_PASSWORD = "smtp-password"
