"""Fixtures of the budget tests: the order tests' shop (a vendor with products on sale, a
teacher with 100 € of credit) and that teacher logged in, for the teacher's account page."""

from tests.orders.conftest import shop, teacher_client

__all__ = ["shop", "teacher_client"]
