"""A real S3-compatible server for the tests (moto in server mode on 127.0.0.1).

Each test that needs one gets a new bucket (`new_bucket`), so tests never see each
other's files. boto3 finds its credentials in the standard AWS variables, as in
production; the server accepts any.
"""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import boto3
from moto.server import ThreadedMotoServer

REGION = "eu-west-3"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "cle-de-test", "AWS_SECRET_ACCESS_KEY": "secret-de-test"}


class S3Server:
    endpoint: str
    client: Any

    def __init__(self) -> None:
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)

    def start(self) -> None:
        self.server.start()
        host, port = self.server.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"
        self.client = boto3.client("s3", endpoint_url=self.endpoint, region_name=REGION)

    def stop(self) -> None:
        self.server.stop()

    def new_bucket(self, prefix: str = "fichiers") -> str:
        """Create an empty bucket; the STORAGE_URL of `prefix` in it."""
        bucket = f"compte-ressources-{uuid4().hex[:12]}"
        self.client.create_bucket(
            Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION}
        )
        return f"s3://{bucket}/{prefix}?endpoint_url={self.endpoint}&region={REGION}"

    def keys(self, storage_url: str) -> list[str]:
        """Every object key in the bucket of `storage_url`."""
        bucket = storage_url.removeprefix("s3://").split("/")[0]
        listing = self.client.list_objects_v2(Bucket=bucket)
        return sorted(item["Key"] for item in listing.get("Contents", []))
