"""The photographer's session pages: dashboard, session page and upload, review, loupe, media, exports."""
