// A TCP proxy in front of the test Redis, to stage a real Redis outage: down() drops every
// connection and refuses new ones (what clients see of a stopped Redis), up() listens on
// the same port again so ioredis reconnects. The shared Redis itself is never stopped.
import { createServer, connect, type Server, type Socket } from 'node:net';

export interface RedisProxy {
  /** A redis:// URL that goes through the proxy. */
  url: string;
  up(): Promise<void>;
  down(): Promise<void>;
}

export async function redisProxy(target: string): Promise<RedisProxy> {
  const upstream = new URL(target);
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;
  const up = () =>
    new Promise<void>((resolve, reject) => {
      if (server) return resolve();
      server = createServer((client) => {
        const remote = connect(Number(upstream.port || 6379), upstream.hostname);
        for (const s of [client, remote]) {
          sockets.add(s);
          s.on('close', () => sockets.delete(s));
          s.on('error', () => {
            client.destroy();
            remote.destroy();
          });
        }
        client.pipe(remote).pipe(client);
      });
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        port = (server!.address() as { port: number }).port;
        resolve();
      });
    });
  const down = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      if (!server) return resolve();
      server.close(() => resolve());
      server = undefined;
    });
  await up();
  const url = new URL(target);
  url.hostname = '127.0.0.1';
  url.port = String(port);
  return { url: url.toString(), up, down };
}
