"""Tests of tap-lab."""
