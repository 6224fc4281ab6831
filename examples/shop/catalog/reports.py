"""Sales reports written in SQL."""
from django.db import connection


def revenue_for(category_name: str) -> float:
    """Total revenue of one category."""
    sql = (
        "SELECT SUM(p.price) FROM catalog_product p JOIN catalog_category c ON c.id = p.category_id "
        f"WHERE c.name = '{category_name}'"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql)
        row = cursor.fetchone()
    return float(row[0] or 0)
