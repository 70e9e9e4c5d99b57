"""Client proofing galleries: a private link to some of a session's photos, where the photographer's client
(no account) picks favourites within the package limit, comments and submits; the picks go back to the
photographer as CSV, filename filters and XMP on the same originals.

* `access`      — tokens, passwords (hashed, attempts throttled), the guest's signed cookie, open/closed links.
* `previews`    — preview sizes and names, the watermark, building them once in the background.
* `services`    — the photographer's writes: create, arrange, options, revoke/re-open, email the link.
* `selections`  — the guest's writes: enter, heart, comment, download, submit; reopening a selection.
* `selectors`   — reads: owner-checked for the photographer, token-checked and guest-scoped for the client.
* `exports`     — the picks as CSV, Lightroom / Capture One / Finder filters, XMP sidecars.
* `notify`      — the emails (link to the client, "selection submitted" to the photographer).

Views live in `galleries.views.galleries` (photographer, in the `sessions` namespace: urls.py) and
`galleries.views.gallery_public` (client, namespace `gallery`: urls_public.py). The models are sessions_app's.
"""
