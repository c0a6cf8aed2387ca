"""The invoice tests use the order tests' shop: a vendor (Éditions de la Mer SAS) with two
products on sale, and a teacher of a Paris school holding 100 € of credit."""

from tests.orders.conftest import shop, teacher_client

__all__ = ["shop", "teacher_client"]
