"""Tests of tap-lab-refresh."""
