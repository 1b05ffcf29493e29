// Ports on 127.0.0.1 for the tests and benchmarks that start processes of their own (HAProxy, redis-server,
// `earshot serve`): one free to take, and whether one is taken.
import net from "node:net";

/**
 * A TCP port free on 127.0.0.1 right now (bound, then released): a process started next can take it, and until one
 * does, nothing listens there (a connection to it is refused).
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Whether something accepts connections on 127.0.0.1:`port`. */
export function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    socket.once("connect", () => (socket.destroy(), resolve(true)));
    socket.once("error", () => resolve(false));
  });
}
