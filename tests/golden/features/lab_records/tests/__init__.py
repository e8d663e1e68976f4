"""Tests of tap-lab-records."""
