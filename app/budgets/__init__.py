"""Academies, schools, school years and the credit allocated to teachers."""
