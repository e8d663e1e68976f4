"""Tests of tap-aircall."""
