"""Gallery pages: the photographer's (`galleries`, in the `sessions` namespace) and the client's (`gallery_public`)."""
