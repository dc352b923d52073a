"""Bridges to other evaluation harnesses; each runs the benchmark's own protocol code, never a copy of it."""
