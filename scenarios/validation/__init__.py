"""Validation cases: ordinary scenarios whose answers are known from theory or field studies."""
