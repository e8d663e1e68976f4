"""Tests of tap-lab-custom."""
