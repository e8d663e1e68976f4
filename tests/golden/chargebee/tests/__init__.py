"""Tests of tap-chargebee."""
