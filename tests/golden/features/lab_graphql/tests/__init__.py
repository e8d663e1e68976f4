"""Tests of tap-lab-graphql."""
