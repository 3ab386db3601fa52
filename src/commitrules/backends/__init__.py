"""Execution backends other than the native one (optional extras)."""
