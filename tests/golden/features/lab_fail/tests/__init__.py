"""Tests of tap-lab-fail."""
