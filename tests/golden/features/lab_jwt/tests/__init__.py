"""Tests of tap-lab-jwt."""
