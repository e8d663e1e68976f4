"""Tests of tap-clinic."""
