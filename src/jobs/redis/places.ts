// Places and room of the Redis backend (see "Places" in ../types.ts). A place is a member of two sorted sets scored
// by its expiry (<p>:places and the owner's, keys.ts), checked and taken in one Lua script with the counts of
// unfinished jobs (scripts.ts), so the bounds hold across every process sharing the Redis; its holder renews it every
// PLACE_RENEW_MS, and one not renewed for PLACE_TTL_MS (its process died mid-upload, or lost Redis) lapses. The
// stored-audio budget is checked by the submit script, on the FLAC's real size (submitJob.ts): a place reserves none.
import { randomBytes } from "node:crypto";

import type { Redis } from "ioredis";

import { redisAudioBudgetFull } from "../../api/errors.js";
import { jobsQueueFull, ownerQueueFull } from "../../api/errors.js";
import type { JobPlace, JobQueueBounds } from "../types.js";
import { within } from "./connections.js";
import type { RedisKeys } from "./keys.js";
import { scripts } from "./scripts.js";

/** A place not renewed for this long (its process died mid-upload, or lost Redis) lapses. */
const PLACE_TTL_MS = 60_000;
/** How often a process renews the places it holds. */
const PLACE_RENEW_MS = 15_000;

/** The id of a place, on the object handed out (not part of JobPlace). */
const PLACE_ID = Symbol("placeId");
type RedisPlace = JobPlace & { [PLACE_ID]: string };

/** A script's verdict: "ok" or a refusal, with what it concerns. */
export type ScriptReply = [string, (number | string)?];

/** The places this process's uploads in flight hold. */
export class RedisPlaces {
  /** Places held here: id → owner. */
  private readonly held = new Map<string, string>();
  private renewTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly api: Redis,
    private readonly keys: RedisKeys,
    private readonly bounds: JobQueueBounds,
    /** Runs an API-side operation (RedisApiCalls.call: 503 when Redis is away). */
    private readonly call: <T>(operation: () => Promise<T>) => Promise<T>,
  ) {}

  /** A place for one job of `owner` (see JobBackend.reserve); throws 429. */
  async reserve(owner: string): Promise<JobPlace> {
    const id = randomBytes(12).toString("hex");
    const now = Date.now();
    const { maxQueued, maxQueuedPerOwner } = this.bounds;
    const reply = (await this.call(() => scripts.reserve.run(this.api, [this.keys.prefix, id, owner, now, now + PLACE_TTL_MS, PLACE_TTL_MS, maxQueued, maxQueuedPerOwner]))) as ScriptReply;
    throwRoomRefusal(reply, this.bounds);
    this.held.set(id, owner);
    this.renewTimer ??= setInterval(() => void this.renew(), PLACE_RENEW_MS).unref();
    return {
      owner,
      // Redis checks its audio budget at submit, on the FLAC's real size.
      reserveAudio: () => undefined,
      release: () => this.release(id, owner),
      [PLACE_ID]: id,
    } as RedisPlace;
  }

  /**
   * The id of `place` for the submit script: "" for none; undefined when it is not one this process holds (given
   * by another backend, or already used).
   */
  idOf(place: JobPlace | undefined): string | undefined {
    if (place === undefined) return "";
    const id = (place as RedisPlace)[PLACE_ID];
    return id !== undefined && this.held.has(id) ? id : undefined;
  }

  /** Gives a place back; Redis away, it lapses within PLACE_TTL_MS. */
  async release(id: string, owner: string): Promise<void> {
    if (!this.forget(id)) return;
    await scripts.release.run(this.api, [this.keys.prefix, owner, id]).catch(() => undefined);
  }

  /** Whether the place was held here (it no longer is: a job took it, or it is given back). */
  forget(id: string): boolean {
    const held = this.held.delete(id);
    if (this.held.size === 0) {
      clearInterval(this.renewTimer);
      this.renewTimer = undefined;
    }
    return held;
  }

  /** At close: no more renewals; the places still held (uploads cut short) go back now rather than lapse. */
  async close(redisAvailable: boolean): Promise<void> {
    clearInterval(this.renewTimer);
    if (redisAvailable) await within(Promise.all([...this.held].map(([id, owner]) => this.release(id, owner))), 1_000);
  }

  private async renew(): Promise<void> {
    if (this.held.size === 0 || this.api.status !== "ready") return;
    const now = Date.now();
    const held = [...this.held].flatMap(([id, owner]) => [owner, id]);
    // Redis away: the next renewal tries again (PLACE_TTL_MS is four renewals).
    await scripts.renew.run(this.api, [this.keys.prefix, now + PLACE_TTL_MS, PLACE_TTL_MS, ...held]).catch(() => undefined);
  }
}

/** The 429 of a script's refusal ('full', 'owner-full', 'budget-full'); nothing for any other verdict. */
export function throwRoomRefusal(reply: ScriptReply, bounds: JobQueueBounds): void {
  if (reply[0] === "full") throw jobsQueueFull(Number(reply[1]));
  if (reply[0] === "owner-full") throw ownerQueueFull(Number(reply[1]), bounds.maxQueuedPerOwner);
  if (reply[0] === "budget-full") throw redisAudioBudgetFull(Number(reply[1]));
}
