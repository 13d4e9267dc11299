"""Helpers for the tests: real servers started on loopback, and factories."""
