"""Products, their versions, licence plans and data declarations; the storefront."""
