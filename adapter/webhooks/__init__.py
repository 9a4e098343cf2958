"""Sending webhooks to clients' URLs."""
