"""Fixtures of the licence tests: the order tests' shop (a vendor with products on sale,
a teacher with credit) and that teacher logged in, for the pages of bought licences."""

from tests.orders.conftest import shop, teacher_client

__all__ = ["shop", "teacher_client"]
