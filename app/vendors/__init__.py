"""EdTech companies selling on the marketplace, and their staff."""
