"""Development settings: the DJG3xx rules leave this module alone."""
from shop.settings.base import *  # noqa: F403

SECRET_KEY = "local-development-only"
DEBUG = True
ALLOWED_HOSTS = ["*"]
