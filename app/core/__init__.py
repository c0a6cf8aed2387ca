"""Shared mechanisms: database base, errors, audit log, access control."""
