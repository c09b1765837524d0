"""Mostrador's WhatsApp Web bridge on neonize (whatsmeow): see README.md."""

__version__ = "1.0.0"
