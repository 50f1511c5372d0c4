"""WhatsApp generative-AI assistant for events: the core package."""
