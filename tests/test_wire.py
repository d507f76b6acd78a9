"""The HTTP plumbing: chunked framing both ways, line splitting, the threaded loopback server."""

from __future__ import annotations

import socket
import zlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness._wire import LAST_CHUNK, ChunkDecoder, ChunkedWriter, ChunkError, LineSplitter, encode_chunk, read_request
from harness.replay._http_server import Client, LoopbackHTTPServer


def cut(data: bytes, points: list[int]) -> list[bytes]:
    marks = sorted({p for p in points if 0 < p < len(data)})
    return [data[a:b] for a, b in zip([0, *marks], [*marks, len(data)], strict=True)]


@given(st.lists(st.binary(max_size=300), max_size=10), st.lists(st.integers(0, 4000), max_size=20))
def test_chunk_decoder_reassembles_any_split(chunks: list[bytes], points: list[int]) -> None:
    wire = b"".join(encode_chunk(c) for c in chunks if c) + LAST_CHUNK
    decoder = ChunkDecoder()
    out = b"".join(decoder.feed(piece) for piece in cut(wire, points))
    assert out == b"".join(chunks) and decoder.done and not decoder.mid_chunk


@given(st.lists(st.binary(max_size=200), max_size=20), st.lists(st.integers(0, 5000), max_size=30))
def test_line_splitter_keeps_every_byte_whatever_the_cuts(lines: list[bytes], points: list[int]) -> None:
    data = b"\n".join(lines)
    splitter = LineSplitter()
    got = [line for piece in cut(data, points) for line in splitter.feed(piece)]
    assert b"".join(got) + splitter.pending == data
    assert all(line.endswith(b"\n") and line.count(b"\n") == 1 for line in got)
    assert b"\n" not in splitter.pending


@given(
    st.lists(
        st.binary(max_size=120).map(lambda b: b.replace(b"\n", b"") + b"\r\n") | st.binary(max_size=60), max_size=12
    ),
    st.lists(st.integers(0, 3000), max_size=20),
)
def test_dechunked_pieces_split_into_the_same_lines(chunks: list[bytes], points: list[int]) -> None:
    # one line per chunk as the API sends it, or anything else; the wire cut anywhere
    wire = b"".join(encode_chunk(c) for c in chunks if c) + LAST_CHUNK
    decoder, splitter, got = ChunkDecoder(), LineSplitter(), []
    for piece in cut(wire, points):
        pieces = decoder.pieces(piece)
        assert all(pieces)
        got += splitter.feed_pieces(pieces)
    body = b"".join(chunks)
    *whole, rest = body.split(b"\n")  # what the lines must be, worked out apart from the splitter
    assert got == [line + b"\n" for line in whole] and splitter.pending == rest


def test_line_splitter_reports_a_line_past_its_limit() -> None:
    splitter = LineSplitter(max_line=10)
    assert splitter.feed(b"x" * 6) == [] and not splitter.overflowing
    assert splitter.feed(b"x" * 6) == [] and splitter.overflowing
    assert splitter.feed(b"\nab") == [b"x" * 12 + b"\n"] and not splitter.overflowing


@pytest.mark.parametrize(
    ("wire", "message"),
    [
        (b"zz\r\n", "expected a hex chunk size"),
        (b"-5\r\nhello\r\n", "expected a hex chunk size"),
        (b"5\r\nhelloXX", "expected CRLF after a chunk"),
        (b"5" * 5000, "no line end within 4096 bytes"),
    ],
)
def test_chunk_decoder_refuses_broken_framing(wire: bytes, message: str) -> None:
    decoder = ChunkDecoder()
    with pytest.raises(ChunkError, match=message):
        decoder.feed(wire)
        decoder.feed(b"")  # where payload came first, the error comes with the next bytes


def test_chunk_decoder_hands_out_what_came_before_the_garbage() -> None:
    decoder = ChunkDecoder()
    assert decoder.feed(encode_chunk(b"good\r\n") + b"junk\r\n") == b"good\r\n"
    with pytest.raises(ChunkError):
        decoder.feed(b"")


def test_chunk_extensions_and_trailers_are_understood() -> None:
    decoder = ChunkDecoder()
    assert decoder.feed(b"4;name=value\r\nabcd\r\n0\r\nX-Trailer: 1\r\n\r\n") == b"abcd"
    assert decoder.done


def test_chunked_writer_sends_one_chunk_per_line_and_gzip_decodes() -> None:
    a, b = socket.socketpair()
    with a, b:
        for gz in (False, True):
            writer = ChunkedWriter(a, gzip=gz)
            writer.send_many([b"one\r\n", b"two\r\n"])
            writer.send(b"\r\n")
            writer.finish()
            data = b""
            while not data.endswith(LAST_CHUNK):
                data += b.recv(65536)
            decoder = ChunkDecoder()
            body = decoder.feed(data)
            if gz:
                body = zlib.decompress(body, 16 + zlib.MAX_WBITS)
            else:
                assert data == b"5\r\none\r\n\r\n5\r\ntwo\r\n\r\n2\r\n\r\n\r\n0\r\n\r\n"
            assert body == b"one\r\ntwo\r\n\r\n" and decoder.done


def test_requests_are_parsed_and_connections_get_tcp_nodelay() -> None:
    seen: list[tuple[int, str, str | None, str | None]] = []

    def handler(client: Client) -> None:
        request = client.read_request()
        assert request is not None
        nodelay = client.sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        seen.append((nodelay, request.path, request.bearer(), request.header("x-test")))
        client.sock.sendall(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")

    with LoopbackHTTPServer(handler) as server, socket.create_connection(("127.0.0.1", server.port)) as s:
        s.sendall(b"GET /a/b?x=1 HTTP/1.1\r\nAuthorization: Bearer tok\r\nX-Test:  yes \r\n\r\n")
        assert s.recv(100).startswith(b"HTTP/1.1 204")
    assert seen == [(1, "/a/b", "tok", "yes")]


def test_close_ends_a_handler_blocked_on_its_peer() -> None:
    def handler(client: Client) -> None:
        client.rfile.read()  # blocks until the server shuts the connection

    server = LoopbackHTTPServer(handler).start()
    with socket.create_connection(("127.0.0.1", server.port)):
        import time

        t = time.monotonic()
        time.sleep(0.05)
        server.close(timeout=5)
        assert time.monotonic() - t < 3.0  # a handler left blocked: the 5 s join timeout


def test_read_request_refuses_nonsense() -> None:
    import io

    from harness._wire import BadRequest

    assert read_request(io.BytesIO(b"")) is None
    with pytest.raises(BadRequest):
        read_request(io.BytesIO(b"hello\r\n\r\n"))
    with pytest.raises(BadRequest):
        read_request(io.BytesIO(b"GET / HTTP/1.1\r\nno colon here\r\n\r\n"))
