"""Tests of tap-lab-bearer."""
