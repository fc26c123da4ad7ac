"""Premium settings, SmartSpot releases and Opportunities (land with their issues)."""
