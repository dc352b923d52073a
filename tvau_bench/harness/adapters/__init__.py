"""harness/adapters"""
