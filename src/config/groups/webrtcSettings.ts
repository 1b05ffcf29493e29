// Settings table, group "Realtime over WebRTC": the calls of POST /v1/realtime/calls (their media over UDP).
import net from "node:net";

import { z } from "zod";

import { list } from "../schemas.js";
import type { Setting } from "../setting.js";

/** `40000-40199`: the UDP ports a call's ICE sockets are bound in (two ports at least: one per address per call). */
const portRange = z
  .string()
  .regex(/^\s*\d{1,5}\s*-\s*\d{1,5}\s*$/, "expected a range of ports like 40000-40199")
  .transform((value) => value.split("-").map((port) => Number(port.trim())) as [number, number])
  .refine(([min, max]) => min >= 1024 && max <= 65_535 && min < max, "expected 1024 ≤ first < last ≤ 65535");

export const webrtcSettings = {
  webrtcUdpPorts: {
    env: "EARSHOT_WEBRTC_UDP_PORTS",
    flag: "--webrtc-udp-ports <range>",
    commands: ["serve"],
    schema: portRange.optional(),
    doc: "UDP ports a WebRTC call's media may use, as first-last (e.g. 40000-40199); open them in the firewall",
    note:
      "Each call binds one port per announced address (see `EARSHOT_WEBRTC_ANNOUNCE_ADDRESSES`) for as long as it lasts: " +
      "allow at least `EARSHOT_REALTIME_MAX_SESSIONS` × addresses ports. A call that finds none free is refused (503).",
    defaultText: "unset: any free port the system gives",
  },
  webrtcAnnounceAddresses: {
    env: "EARSHOT_WEBRTC_ANNOUNCE_ADDRESSES",
    flag: "--webrtc-announce-addresses <list>",
    commands: ["serve"],
    schema: list
      .refine((addresses) => addresses.every((address) => net.isIP(address) !== 0), "expected IP addresses, comma-separated")
      .default([]),
    doc: "the IP addresses a WebRTC call's answer offers the browser for its media, comma-separated (NAT 1:1: the public one)",
    note:
      "Only these are announced, each with the port the call bound on every interface: behind a 1:1 NAT (a cloud VM's " +
      "public IP, a container's published ports) name the address clients reach this replica at, and forward the UDP " +
      "port range to it unchanged. Behind a load balancer each replica announces its own address (media never goes through the balancer).",
    defaultText: "unset: every address of the machine's network interfaces (not loopback)",
  },
  webrtcConnectTimeoutSeconds: {
    env: "EARSHOT_WEBRTC_CONNECT_TIMEOUT_SECONDS",
    flag: "--webrtc-connect-timeout-seconds <n>",
    commands: ["serve"],
    schema: z.coerce.number().positive().max(600).default(20),
    doc: "a WebRTC call whose connection (ICE, DTLS, the oai-events data channel) is not up this long after its answer is closed",
    note: "Its session place is given back. Once connected, the realtime idle timeout applies as for a socket.",
  },
} as const satisfies Record<string, Setting>;
