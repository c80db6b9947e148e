"""Zenchef, through Formitable's partner API v1.2: client, mapper, webhook format, connector."""
