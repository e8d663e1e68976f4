"""Tests of tap-helpdesk."""
