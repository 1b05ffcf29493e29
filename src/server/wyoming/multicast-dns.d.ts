// The part of multicast-dns (no types published) that zeroconf.ts uses.
declare module "multicast-dns" {
  interface MdnsRecord {
    name: string;
    type: string;
    ttl?: number;
    data?: unknown;
  }
  interface MdnsPacket {
    questions?: Array<{ name: string; type: string }>;
    answers?: MdnsRecord[];
    additionals?: MdnsRecord[];
  }
  interface Mdns {
    on(event: "query" | "response", listener: (packet: MdnsPacket, rinfo: { address: string; port: number }) => void): this;
    on(event: "error" | "warning", listener: (error: Error) => void): this;
    on(event: "ready", listener: () => void): this;
    query(packet: MdnsPacket | string, callback?: () => void): void;
    respond(packet: MdnsPacket, callback?: () => void): void;
    destroy(callback?: () => void): void;
  }
  interface MdnsOptions {
    multicast?: boolean;
    interface?: string;
    port?: number;
    ip?: string;
    ttl?: number;
    loopback?: boolean;
    reuseAddr?: boolean;
    bind?: string | false;
  }
  export default function makeMdns(options?: MdnsOptions): Mdns;
}
