"""Tests of tap-bulk-parallel."""
