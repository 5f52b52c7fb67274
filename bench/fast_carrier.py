"""A minimal, fast fake of SMSC.ru's send.php for throughput benchmarks (asyncio, keep-alive).

The tests' fakes (tests/fakes/) check every parameter and record every
request; this one only answers send.php the way SMSC does (fmt=3 JSON) and
counts, so that the carrier is not what limits a dispatch benchmark. It also
notes when each text (`mes`) first arrived, for the latency benchmark:
GET /arrivals answers {text: seconds since the epoch}.

    python bench/fast_carrier.py PORT
"""

import asyncio
import itertools
import json
import sys
import time
from urllib.parse import unquote_plus

ids = itertools.count(1)
sent: dict[str, int] = {}
arrivals: dict[str, float] = {}  # text -> when it first arrived


async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            body = await reader.readexactly(length) if length else b""
            if head.startswith(b"GET /count"):
                payload = json.dumps({"requests": sum(sent.values()), "distinct_ids": len(sent)}).encode()
            elif head.startswith(b"GET /arrivals"):
                payload = json.dumps(arrivals).encode()
            else:
                arrived = time.time()
                fields = dict(p.split(b"=", 1) for p in body.split(b"&") if b"=" in p)
                arrivals.setdefault(unquote_plus(fields.get(b"mes", b"").decode()), arrived)
                client_id = fields.get(b"id", b"").decode()
                sent[client_id] = sent.get(client_id, 0) + 1
                payload = json.dumps({"id": next(ids), "cnt": 1, "cost": "1.40", "balance": "100.00"}).encode()
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                         + str(len(payload)).encode() + b"\r\n\r\n" + payload)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def main(port: int) -> None:
    server = await asyncio.start_server(handle, "127.0.0.1", port)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
