"""Tests of tap-lab-parents."""
