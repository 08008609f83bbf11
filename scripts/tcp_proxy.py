"""A TCP forwarder for outage tests: `tcp_proxy.py LISTEN_PORT TARGET_HOST TARGET_PORT`.

Killing it cuts every connection through it and refuses new ones, as a store that went away would; starting it
again on the same port brings the store back.
"""
import asyncio
import sys


async def pipe(reader, writer):
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except Exception:
        pass
    finally:
        writer.close()


async def main():
    listen, host, port = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])

    async def handle(client_reader, client_writer):
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(host, port)
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(pipe(client_reader, upstream_writer), pipe(upstream_reader, client_writer))

    server = await asyncio.start_server(handle, "127.0.0.1", listen, reuse_address=True)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


asyncio.run(main())
