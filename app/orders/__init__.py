"""Spending the compte ressources: cart, checkout, orders, cancellation and refund."""
