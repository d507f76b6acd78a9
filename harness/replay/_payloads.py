"""The lines the replay itself writes into a stream: X's disconnect payloads, and what faults send."""

from __future__ import annotations

from harness.cassette.synth import encode_line

#: X's operational-disconnect payload, as the live API sends it before closing a stream.
DISCONNECT_PAYLOAD = {
    "errors": [
        {
            "title": "operational-disconnect",
            "disconnect_type": "OperationalDisconnect",
            "detail": "This stream has been disconnected for operational reasons.",
            "type": "https://api.twitter.com/2/problems/operational-disconnect",
        }
    ]
}
DISCONNECT_LINE = encode_line(DISCONNECT_PAYLOAD)
#: What a stream ended through the connections API receives before its last chunk.
FORCE_DISCONNECT_LINE = encode_line(
    {
        "errors": [
            {
                "title": "operational-disconnect",
                "disconnect_type": "ForceDisconnect",
                "detail": "This stream has been disconnected: its connection was terminated through /2/connections.",
                "type": "https://api.twitter.com/2/problems/operational-disconnect",
            }
        ]
    }
)
#: What the garbage fault sends: neither JSON nor UTF-8, as a broken proxy or buffer might.
GARBAGE_LINE = b'\x00\xff<garbage> not JSON {"data":\r\n'
#: A chunk-size line that is not hex (badchunk).
BAD_CHUNK_SIZE = b"zz\r\n"
#: Deflate bytes no decoder takes: a block of the reserved type 3 (badgzip), at a block boundary
#: since every write is sync-flushed.
CORRUPT_DEFLATE = b"\x06\xff\xff\xff\xff\xff\xff\xff"
