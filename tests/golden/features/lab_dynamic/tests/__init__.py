"""Tests of tap-lab-dynamic."""
