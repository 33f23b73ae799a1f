"""The mailer: renders ``email.requested`` events and sends them over SMTP or into files."""
