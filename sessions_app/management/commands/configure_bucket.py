"""`manage.py configure_bucket`: the two bucket settings direct uploads need, set on the S3 bucket itself.

* CORS: browsers on SITE_URL (and any --origin) may POST files to the bucket; nothing else cross-origin.
* Lifecycle: objects under `incoming/` (uploads a browser started but never finished) expire after a day,
  and so do unfinished multipart uploads. Other lifecycle rules on the bucket are kept.

Safe to run again (it replaces only its own rules). Needs STORAGE_BACKEND=s3.
"""
from __future__ import annotations

from botocore.exceptions import ClientError
from django.conf import settings
from django.core.files.storage import default_storage
from django.core.management.base import BaseCommand, CommandError

from sessions_app import media_names
from sessions_app.services import direct_uploads_enabled

RULE_ID = "eyespy-unfinished-uploads"


class Command(BaseCommand):
    help = "Set the S3 bucket's CORS (browser uploads from SITE_URL) and expiry of unfinished uploads."

    def add_arguments(self, parser):
        parser.add_argument("--origin", action="append", default=[],
                            help="another address the site is served on (repeatable); SITE_URL is always allowed")

    def handle(self, *args, **options):
        if not direct_uploads_enabled():
            raise CommandError("Direct uploads are off: set STORAGE_BACKEND=s3 (and EYESPY_DIRECT_UPLOADS, on by default).")
        s3, bucket = default_storage.connection.meta.client, default_storage.bucket_name
        origins = list(dict.fromkeys([settings.SITE_URL, *(o.rstrip("/") for o in options["origin"])]))
        try:
            s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": [{
                "AllowedOrigins": origins, "AllowedMethods": ["POST"], "AllowedHeaders": ["*"],
                "ExposeHeaders": ["ETag"], "MaxAgeSeconds": 3600,
            }]})
            cors = f"browsers on {', '.join(origins)} may upload"
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "NotImplemented":
                raise
            # MinIO has no per-bucket CORS: its server-wide MINIO_API_CORS_ALLOW_ORIGIN decides (all by default).
            cors = "this store sets CORS server-wide (MinIO: MINIO_API_CORS_ALLOW_ORIGIN)"
        try:
            rules = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "NoSuchLifecycleConfiguration":
                raise
            rules = []
        rules = [r for r in rules if r.get("ID") != RULE_ID] + [{
            "ID": RULE_ID, "Status": "Enabled", "Filter": {"Prefix": media_names.INCOMING_PREFIX},
            "Expiration": {"Days": 1}, "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
        }]
        s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": rules})
        self.stdout.write(f"Bucket {bucket}: {cors}; "
                          f"unfinished uploads under {media_names.INCOMING_PREFIX} expire after 1 day.")
