"""Invoices and credit notes issued for the vendors under a billing mandate."""
