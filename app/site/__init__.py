"""The public information pages every State service carries: accessibility declaration,
legal notice, personal data, cookies, site map, help and contact."""
