"""Tests of tap-openlib."""
