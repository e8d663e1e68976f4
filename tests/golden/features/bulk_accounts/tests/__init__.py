"""Tests of tap-bulk-accounts."""
