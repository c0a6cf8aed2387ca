"""Dashboards, exports and reports: academies steer their budget, the ministry sees it all."""
