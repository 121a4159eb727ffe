"""Results folders, charts and reports."""
