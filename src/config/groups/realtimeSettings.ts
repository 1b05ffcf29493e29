// Settings table, group "Realtime": the realtime sessions, WebSockets of /v1/realtime and WebRTC calls alike.
import { z } from "zod";

import type { Setting } from "../setting.js";

export const realtimeSettings = {
  realtimeMaxSessionMinutes: {
    env: "EARSHOT_REALTIME_MAX_SESSION_MINUTES",
    flag: "--realtime-max-session-minutes <n>",
    commands: ["serve"],
    schema: z.coerce.number().positive().max(24 * 60).default(60),
    doc: "realtime sessions are closed after this long (OpenAI: 60 minutes)",
  },
  realtimeMaxBufferSeconds: {
    env: "EARSHOT_REALTIME_MAX_BUFFER_SECONDS",
    flag: "--realtime-max-buffer-seconds <n>",
    commands: ["serve"],
    schema: z.coerce.number().positive().max(3600).default(300),
    doc: "uncommitted audio a realtime session may hold; also the longest VAD turn",
    note: "Beyond it the turn is committed as it stands.",
  },
  realtimeMaxMessageMb: {
    env: "EARSHOT_REALTIME_MAX_MESSAGE_MB",
    flag: "--realtime-max-message-mb <n>",
    commands: ["serve"],
    schema: z.coerce.number().positive().max(256).default(15),
    doc: "largest realtime client message, MB (OpenAI allows 15 MiB appends)",
    note: "Beyond it an `error` event; far above it the socket is closed (1009).",
  },
  realtimeIdleTimeoutSeconds: {
    env: "EARSHOT_REALTIME_IDLE_TIMEOUT_SECONDS",
    flag: "--realtime-idle-timeout-seconds <n>",
    commands: ["serve"],
    schema: z.coerce.number().positive().max(86_400).default(300),
    doc: "realtime sessions with nothing valid from the client for this long are closed",
    note:
      "Only an append of valid audio (one sample or more), a WebRTC call's track audio, or a commit, clear or `session.update` that succeeds restarts the " +
      "countdown, never a refused message (a large message still arriving when it runs out postpones it, and closes the " +
      "session if it is refused). Closed with an `error` `idle_timeout`, then 1000.",
  },
  realtimeMaxSessions: {
    env: "EARSHOT_REALTIME_MAX_SESSIONS",
    flag: "--realtime-max-sessions <n>",
    commands: ["serve"],
    schema: z.coerce.number().int().positive().max(100_000).default(100),
    doc: "realtime sessions open at once, sockets and WebRTC calls together; the next is refused with 429",
  },
  realtimeMaxSessionsPerKey: {
    env: "EARSHOT_REALTIME_MAX_SESSIONS_PER_KEY",
    flag: "--realtime-max-sessions-per-key <n>",
    commands: ["serve"],
    schema: z.coerce.number().int().positive().max(100_000).default(25),
    doc: "realtime sessions one API key may hold open, those of the client secrets it minted included; the next gets 429",
    note: "Applies when two or more keys are configured (with one key the server's limit is its share).",
  },
  realtimeMaxSocketsPerSecret: {
    env: "EARSHOT_REALTIME_MAX_SOCKETS_PER_SECRET",
    flag: "--realtime-max-sockets-per-secret <n>",
    commands: ["serve"],
    schema: z.coerce.number().int().positive().max(1000).default(2),
    doc: "realtime sessions (sockets or WebRTC calls) one client secret may hold open at once; the next gets 429",
    note: "2: a reconnect may overlap the old session's close.",
  },
  realtimeMaxSpeed: {
    env: "EARSHOT_REALTIME_MAX_SPEED",
    flag: "--realtime-max-speed <x>",
    commands: ["serve"],
    schema: z.coerce.number().positive().max(10_000).default(20),
    doc: "a realtime session's audio is processed at most this many times faster than real time",
    note: "After its first 10 s of audio; a client that sends faster is slowed by TCP back-pressure.",
  },
} as const satisfies Record<string, Setting>;
