"""Tests of tap-lab-oauth."""
