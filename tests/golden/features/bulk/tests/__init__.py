"""Tests of tap-bulk."""
