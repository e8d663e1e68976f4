"""Tests of tap-lab-authcode."""
