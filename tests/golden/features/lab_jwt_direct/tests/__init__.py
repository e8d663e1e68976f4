"""Tests of tap-lab-jwt-direct."""
