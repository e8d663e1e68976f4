"""Tests of tap-lab-windows."""
