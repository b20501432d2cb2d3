"""Request bodies read with a bound: an uploaded file streams to a temporary file as it arrives.

Litestar's own form parsing spools a file part, then the route copies it again, and a route's
``request_max_body_size`` is fixed when the module is imported. Here the limit is the deployment's
(``Settings``), a body announced over it is refused before a byte is read, one that grows over it
is refused as soon as it does, and nothing of a refused upload stays on disk.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import anyio
from litestar import Request
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIType, RequestBody, Schema
from multipart import MultipartSegment, ParserError, ParserLimitReached, PushMultipartParser

from roster.errors import InvalidInput, PayloadTooLarge

#: Room for the multipart framing around the file: boundaries, part headers, small text fields.
FRAMING = 64 * 1024
#: Writes are batched to this size and done off the event loop.
_BATCH = 1 << 20


@dataclass(frozen=True, slots=True)
class Upload:
    """A file received whole; the caller owns (and removes) ``path``."""

    path: Path
    sha256: str
    size: int
    #: The client's name for the file, without any directory part.
    filename: str | None
    content_type: str | None


def refuse_announced(request: Request[Any, Any, Any], limit: int, field_name: str) -> None:
    """413 before reading anything when the client announces a body over ``limit``."""
    try:
        announced = int(request.headers.get("content-length", "-1"))
    except ValueError:
        raise InvalidInput.on("content-length", "not a number") from None
    if announced > limit:
        raise PayloadTooLarge.over(field_name, limit)


async def read_body(request: Request[Any, Any, Any], limit: int, field_name: str = "body") -> bytes:
    """The whole body of a small request (a JSON document), refused past ``limit`` bytes."""
    refuse_announced(request, limit, field_name)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise PayloadTooLarge.over(field_name, limit)
    return bytes(body)


class _Sink:
    """The file part on its way to disk: hashed and counted, written in batches off the loop."""

    def __init__(self, dest_dir: Path, limit: int, field_name: str) -> None:
        dest_dir.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=dest_dir, suffix=".upload")
        self.path = Path(name)
        self.out = os.fdopen(fd, "wb")
        self.digest = hashlib.sha256()
        self.size = 0
        self.limit, self.field_name = limit, field_name
        self.pending = bytearray()

    def _flush_now(self, data: bytes) -> None:
        self.digest.update(data)
        self.out.write(data)

    async def write(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self.limit:
            raise PayloadTooLarge.over(self.field_name, self.limit)
        self.pending += data
        if len(self.pending) >= _BATCH:
            batch, self.pending = bytes(self.pending), bytearray()
            await anyio.to_thread.run_sync(self._flush_now, batch)

    async def finish(self) -> str:
        if self.pending:
            await anyio.to_thread.run_sync(self._flush_now, bytes(self.pending))
            self.pending = bytearray()
        self.out.close()
        return self.digest.hexdigest()

    def discard(self) -> None:
        self.out.close()
        self.path.unlink(missing_ok=True)


async def receive_file(
    request: Request[Any, Any, Any], *, limit: int, dest_dir: Path, field_name: str = "file"
) -> Upload:
    """The multipart field ``field_name`` streamed into ``dest_dir``.

    413 (problem details naming the field) when the body is announced or grows over ``limit``
    bytes of file; 422 for a body that is not multipart, has no such field or sends it twice.
    """
    media_type, options = request.content_type
    boundary = options.get("boundary")
    if media_type != "multipart/form-data" or not boundary:
        raise InvalidInput.on(field_name, "send the file as multipart/form-data in the field 'file'")
    refuse_announced(request, limit + FRAMING, field_name)
    sink: _Sink | None = None
    upload: Upload | None = None
    segment: MultipartSegment | None = None
    framing = 0
    try:
        with PushMultipartParser(boundary, max_segment_count=16) as parser:
            async for chunk in request.stream():
                if not chunk:
                    continue
                for event in parser.parse(chunk):
                    if isinstance(event, MultipartSegment):
                        segment = event
                        if segment.name == field_name and segment.filename is not None:
                            if upload is not None or sink is not None:
                                raise InvalidInput.on(field_name, "send one file, not several")
                            sink = _Sink(dest_dir, limit, field_name)
                    elif event is None:  # end of a part
                        if sink is not None and segment is not None:
                            sha256 = await sink.finish()
                            name = PurePosixPath(segment.filename.replace("\\", "/")).name if segment.filename else None
                            upload = Upload(sink.path, sha256, sink.size, name or None, segment.content_type)
                            sink = None
                        segment = None
                    elif sink is not None:
                        await sink.write(event)
                    else:  # another field: small text at most
                        framing += len(event)
                        if framing > FRAMING:
                            raise PayloadTooLarge.over(field_name, limit)
            parser.close()
    except (ParserError, ParserLimitReached) as exc:
        if upload is not None:
            upload.path.unlink(missing_ok=True)
        raise InvalidInput.on(field_name, f"not a well-formed multipart/form-data body ({exc})") from None
    except BaseException:
        if upload is not None:
            upload.path.unlink(missing_ok=True)
        raise
    finally:
        if sink is not None:
            sink.discard()
    if upload is None:
        raise InvalidInput.on(field_name, f"send the file in the multipart field '{field_name}'")
    return upload


def multipart_file_body(description: str, *, extra: dict[str, OpenAPIMediaType] | None = None) -> RequestBody:
    """The OpenAPI request body of a route that reads its upload with :func:`receive_file`."""
    return RequestBody(
        required=True,
        description=description,
        content={
            "multipart/form-data": OpenAPIMediaType(
                schema=Schema(
                    type=OpenAPIType.OBJECT,
                    properties={"file": Schema(type=OpenAPIType.STRING, format="binary")},
                    required=["file"],
                )
            ),
            **(extra or {}),
        },
    )
