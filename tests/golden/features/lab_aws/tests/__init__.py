"""Tests of tap-lab-aws."""
