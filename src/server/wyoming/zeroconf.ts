// The Wyoming listener announced over mDNS/DNS-SD as `_wyoming._tcp` (what Home Assistant's zeroconf discovery looks
// for): PTR (service type → instance), SRV (instance → host and port), TXT, and the host's A records, sent once at
// start and in answer to every query for them; a goodbye (TTL 0) at stop. multicast-dns (mafintosh's, the mDNS
// library werift already brings; pure JavaScript, no native build, no system daemon needed) does the UDP and packets.
import os from "node:os";

import makeMdns from "multicast-dns";

const SERVICE = "_wyoming._tcp.local";
const TTL_SECONDS = 120;

export interface ZeroconfOptions {
  /** The instance name shown to users (e.g. "earshot"). */
  name: string;
  port: number;
  /** The addresses announced for the host: those the listener is reached at. */
  addresses: string[];
  /**
   * The IPv4 address of the interface to announce on (multicast sent and answered there only); every interface when
   * left out.
   */
  interface?: string;
  /** Errors of the mDNS socket (logged; the listener goes on without discovery). */
  onError(error: Error): void;
}

export interface ZeroconfAnnouncement {
  stop(): Promise<void>;
}

/** The IPv4 addresses of the machine's interfaces (loopback last), for a listener bound to every interface. */
export function interfaceAddresses(): string[] {
  const all = Object.values(os.networkInterfaces()).flatMap((entries) => entries ?? []);
  const v4 = all.filter((entry) => entry.family === "IPv4");
  return [...v4.filter((entry) => !entry.internal), ...v4.filter((entry) => entry.internal)].map((entry) => entry.address);
}

export function announceWyoming(options: ZeroconfOptions): ZeroconfAnnouncement {
  // Bound to every address (a socket bound to the interface's own address would not receive multicast); membership
  // and sending on the one interface.
  const mdns = makeMdns({ reuseAddr: true, loopback: true, ...(options.interface ? { interface: options.interface, bind: "0.0.0.0" } : {}) });
  const host = `${os.hostname().split(".")[0] || "earshot"}-earshot.local`;
  const instance = `${options.name}.${SERVICE}`;
  const records = (ttl: number) => [
    { name: SERVICE, type: "PTR" as const, ttl, data: instance },
    { name: instance, type: "SRV" as const, ttl, data: { port: options.port, target: host, priority: 0, weight: 0 } },
    { name: instance, type: "TXT" as const, ttl, data: [Buffer.from("protocol=wyoming"), Buffer.from("service=asr")] },
    ...options.addresses.map((address) => ({ name: host, type: "A" as const, ttl, data: address })),
  ];
  mdns.on("error", (error: Error) => options.onError(error));
  mdns.on("warning", (error: Error) => options.onError(error));
  mdns.on("query", (query) => {
    const asked = (query.questions ?? []).some(({ name }) => [SERVICE, instance, host].includes(name.toLowerCase()));
    if (asked) mdns.respond({ answers: records(TTL_SECONDS) });
  });
  mdns.respond({ answers: records(TTL_SECONDS) });
  return {
    stop: () =>
      new Promise<void>((resolve) => {
        mdns.respond({ answers: records(0) }, () => mdns.destroy(() => resolve()));
      }),
  };
}
