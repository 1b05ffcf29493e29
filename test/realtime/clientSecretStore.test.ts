// Client secrets without a server (src/server/realtime/clientSecrets.ts): redeemed until they expire, verified with
// the key alone, refused when altered. Minting them over HTTP is in auth.test.ts and hardening.test.ts, secrets
// shared by several servers in sharedSecrets.test.ts.
import { describe, expect, it } from "vitest";

import { defaultSessionConfig } from "../../src/api/realtimeSession.js";
import { ClientSecretStore } from "../../src/server/realtime/clientSecrets.js";

describe("ClientSecretStore", () => {
  it("redeems a secret until it expires", () => {
    let now = 1_000;
    const store = new ClientSecretStore({ now: () => now });
    const secret = store.mint(defaultSessionConfig("base"), "sess_x", 10, "open");
    expect(secret.value).toMatch(/^ek_[\w-]+\.[\w-]{43}$/);
    expect(secret.expiresAt).toBe(1_010);
    expect(store.redeem(secret.value)).toMatchObject({ ok: true, secret: { sessionId: "sess_x", expiresAt: 1_010, config: defaultSessionConfig("base") } });
    expect(store.redeem("ek_unknown")).toEqual({ ok: false, reason: "unknown" });
    now = 1_010;
    expect(store.redeem(secret.value)).toEqual({ ok: false, reason: "expired" });
  });

  it("is verified with the key alone: another store with the same key accepts it, one with another key does not", () => {
    const key = "k".repeat(32);
    const secret = new ClientSecretStore({ key }).mint(defaultSessionConfig("base"), "sess_x", 60, "open");
    expect(new ClientSecretStore({ key }).redeem(secret.value)).toMatchObject({ ok: true, secret: { sessionId: "sess_x" } });
    expect(new ClientSecretStore({ key: "j".repeat(32) }).redeem(secret.value)).toEqual({ ok: false, reason: "unknown" });
    expect(new ClientSecretStore().redeem(secret.value)).toEqual({ ok: false, reason: "unknown" });
    expect(() => new ClientSecretStore({ key: "short" })).toThrow(RangeError);
  });

  it("refuses a secret altered or cut short", () => {
    const store = new ClientSecretStore({ key: "k".repeat(32) });
    const { value } = store.mint(defaultSessionConfig("base"), "sess_x", 60, "open");
    const [body, signature] = value.split(".") as [string, string];
    const flip = (text: string, at: number) => text.slice(0, at) + (text[at] === "A" ? "B" : "A") + text.slice(at + 1);
    for (const bad of [value.slice(0, -1), body, `${body}.`, `${flip(body, 10)}.${signature}`, `${body}.${flip(signature, 5)}`, `${body}x.${signature}`, `${value}A`, value.slice(3), `ek_.${signature}`]) {
      expect(store.redeem(bad), bad).toEqual({ ok: false, reason: "unknown" });
    }
  });
});
