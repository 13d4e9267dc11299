"""Adapter: compose mail from templates and send it with aiosmtplib."""
