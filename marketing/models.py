"""Spotlight campaigns (land with the Spotlight issue)."""
