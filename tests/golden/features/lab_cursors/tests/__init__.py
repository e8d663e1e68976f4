"""Tests of tap-lab-cursors."""
