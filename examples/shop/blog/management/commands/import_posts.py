"""Import posts from a CSV file."""
import csv

from django.core.management.base import BaseCommand, CommandParser

from blog.models import Post


class Command(BaseCommand):
    """Create one post per row of a CSV file with `title` and `body` columns."""

    help = "Import posts from a CSV file"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path")

    def handle(self, *args: object, **options: str) -> None:
        try:
            with open(options["path"], newline="", encoding="utf-8") as handle:
                rows = list(csv.DictReader(handle))
        except FileNotFoundError:
            self.stderr.write(f"no such file: {options['path']}")
            return
        Post.objects.bulk_create(Post(title=row["title"], body=row["body"]) for row in rows)
        self.stdout.write(f"imported {len(rows)} posts")
