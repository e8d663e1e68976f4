"""Tests of tap-lab-formats."""
