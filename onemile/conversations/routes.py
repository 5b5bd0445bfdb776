"""Conversation routes."""
