"""Tests of tap-lab-jobs."""
