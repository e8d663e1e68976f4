"""Tests of tap-bulk-limits."""
