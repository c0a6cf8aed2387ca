"""The catalogue and the spending as open data (issue 19, part 2)."""
