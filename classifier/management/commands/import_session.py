"""Import photos already on disk into a new session, through the same checks as a browser upload."""
from __future__ import annotations

from datetime import date
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from classifier import services
from sessions_app import services as sessions_services
from sessions_app.models import Photo, PhotoSession, User


class Command(BaseCommand):
    help = (
        "Create a session for OWNER and import image files into it (folders are searched recursively; "
        "hidden files are skipped; camera RAW files are taken like any image, and a RAW and a JPEG with the same "
        "base name become one photo). Prints one line per file: imported, paired (with its twin), duplicate or "
        "rejected (with the reason), then a summary. The LAST line printed is the new session's UUID (as in /sessions/<uuid>/). "
        "Without --inline the photos are queued for the Celery worker; with --inline they are analysed here, "
        "one by one, with no broker or worker needed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="+", metavar="PATH", help="image files or folders")
        parser.add_argument("--owner", required=True, metavar="EMAIL", help="the photographer's login email")
        parser.add_argument("--title", required=True, help="session title")
        parser.add_argument("--client", metavar="NAME", default="", help="client name (created if new)")
        parser.add_argument("--shot-on", type=date.fromisoformat, default=None, metavar="YYYY-MM-DD", help="shoot date")
        parser.add_argument(
            "--inline", action="store_true", help="analyse each photo in this process (no broker/worker)"
        )

    def handle(self, *args, **options) -> None:
        owner = self.find_owner(options["owner"])
        paths = self.check_paths(options["paths"])
        session = self.create_session(owner, options)
        counts = self.import_files(session, paths, inline=options["inline"])
        self.stdout.write(self.summary(counts, inline=options["inline"]))
        self.stdout.write(str(session.uuid))

    # --- steps (separate so tests can drive them) -----------------------------------------------------

    def find_owner(self, email: str) -> User:
        try:
            return User.objects.get(email__iexact=email.strip())
        except User.DoesNotExist:
            raise CommandError(f"No photographer with the email {email!r}.") from None

    def check_paths(self, raw_paths: list[str]) -> list[Path]:
        paths = [Path(p) for p in raw_paths]
        missing = [str(p) for p in paths if not p.exists()]
        if missing:
            raise CommandError(f"Not found: {', '.join(missing)}")
        if next(sessions_services.iter_import_files(paths), None) is None:
            raise CommandError("No files to import in the given paths.")
        return paths

    def create_session(self, owner: User, options: dict) -> PhotoSession:
        try:
            return sessions_services.session_create(
                owner=owner, title=options["title"], new_client_name=options["client"] or "", shot_on=options["shot_on"]
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None

    def import_files(self, session: PhotoSession, paths: list[Path], *, inline: bool) -> dict[str, int]:
        counts = {"imported": 0, "paired": 0, "duplicate": 0, "rejected": 0, "done": 0, "failed": 0}
        imported: list[tuple[Path, Photo]] = []
        for outcome in services.photos_import_paths(session=session, paths=paths, enqueue=not inline):
            counts[outcome.status] += 1
            line = f"{outcome.status:<9} {outcome.path}"
            if outcome.reason:
                line += f": {outcome.reason}"
            self.stdout.write(line)
            if outcome.status == "imported" and outcome.photo is not None:
                imported.append((outcome.path, outcome.photo))
        if inline:
            for path, photo in imported:
                status, error = self.process_inline(photo)
                counts[status] += 1
                self.stdout.write(f"{'analysed' if status == 'done' else 'failed':<9} {path}" + (f": {error}" if error else ""))
        return counts

    def process_inline(self, photo: Photo) -> tuple[str, str]:
        services.photo_process(photo_id=photo.id)
        photo.refresh_from_db(fields=["status", "error"])
        if photo.status == Photo.Status.DONE:
            return "done", ""
        return "failed", photo.error or f"ended as {photo.status}"

    def summary(self, counts: dict[str, int], *, inline: bool) -> str:
        text = f"{counts['imported']} imported, "
        if counts["paired"]:
            text += f"{counts['paired']} paired, "
        text += f"{counts['duplicate']} duplicate, {counts['rejected']} rejected"
        if inline:
            text += f"; {counts['done']} analysed, {counts['failed']} failed"
        elif counts["imported"]:
            text += " (queued for the worker)"
        return text
