"""Tests of tap-lab-session."""
