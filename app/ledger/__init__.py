"""The double-entry ledger: the only way money moves (DESIGN.md §4)."""
