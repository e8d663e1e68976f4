"""Tests of tap-lab-key-prefix."""
