"""Edge models (AWS and Meta payloads) and domain types."""
