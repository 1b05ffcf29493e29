// Fair shares of the realtime sessions: one API key cannot hold every session of the server (when several keys share
// it), one client secret opens a bounded number of sockets, and a share comes back when its session closes.
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { RealtimeClient, realtimeUrl, refusal } from "../support/realtime.js";
import { startTestServer, type TestServer } from "../support/server.js";

const ALICE = "sk-earshot-shares-alice-0001";
const BOB = "sk-earshot-shares-bob-000002";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ apiKeys: `${ALICE},${BOB}`, realtimeMaxSessions: "6", realtimeMaxSessionsPerKey: "3", realtimeMaxSocketsPerSecret: "1" });
});
afterAll(async () => {
  await server?.close();
});

async function open(token: string): Promise<RealtimeClient> {
  const client = await RealtimeClient.connect(realtimeUrl(server.url), { headers: { Authorization: `Bearer ${token}` } });
  await client.next("session.created");
  return client;
}

/** The upgrade's refusal for a socket opened with `token`. */
function refusedWith(token: string) {
  return refusal(realtimeUrl(server.url), { headers: { Authorization: `Bearer ${token}` } });
}

describe("realtime fair shares", () => {
  it("one key holds at most its share (its client secrets' sessions included); another key still gets in", async () => {
    const { value: secret } = await server.client(ALICE).realtime.clientSecrets.create({});
    const alice = [await open(ALICE), await open(ALICE), await open(secret)];
    const refused = await refusedWith(ALICE);
    expect(refused.status).toBe(429);
    expect(refused.body.error).toMatchObject({ type: "rate_limit_error", code: "rate_limit_exceeded" });
    expect(refused.body.error.message).toMatch(/API key already has 3 realtime sessions/);
    const { value: another } = await server.client(ALICE).realtime.clientSecrets.create({});
    expect((await refusedWith(another)).status).toBe(429);

    const bob = await open(BOB);
    // A closed session gives its share back.
    await alice[0]!.close();
    await expect.poll(async () => (await open(ALICE).then((c) => (alice[0] = c), () => undefined)) !== undefined, { timeout: 5_000 }).toBe(true);
    for (const client of [...alice, bob]) await client.close();
  });

  it("one client secret opens one socket at a time (EARSHOT_REALTIME_MAX_SOCKETS_PER_SECRET), again once it is closed", async () => {
    const { value: secret } = await server.client(BOB).realtime.clientSecrets.create({});
    const first = await open(secret);
    const second = await refusedWith(secret);
    expect(second.status).toBe(429);
    expect(second.body.error.message).toMatch(/client secret already has 1 realtime session/);
    await first.close();
    await expect.poll(async () => (await open(secret).then((c) => c.close().then(() => true), () => false)), { timeout: 5_000 }).toBe(true);
  });
});
