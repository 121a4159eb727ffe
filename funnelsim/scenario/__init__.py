"""Scenario files: schema, loading, overrides and distributions."""
