"""Tests of tap-shopify."""
