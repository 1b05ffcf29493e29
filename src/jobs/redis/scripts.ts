// The Lua scripts that change a job in Redis. Each runs atomically, so a status change, its indexes, the audio
// budget and the guards move together: a job is claimed once per BullMQ delivery, and only the worker holding the
// current claim (its BullMQ lock token) can store progress or an outcome; a worker whose lock expired and whose
// job was taken up elsewhere (stalled-job recovery) finds its token replaced and its outcome discarded, so a job
// is never completed twice. Cancel wins over a late outcome and an outcome over a late cancel: whichever script
// runs first decides, the other sees a finished job.
//
// Every script takes the key prefix as ARGV[1] (key names as in keys.ts). They return the job's hash (HGETALL)
// after the change, preceded by a verdict.
import { createHash } from "node:crypto";

import type { Redis } from "ioredis";

const PRELUDE = `
local p = ARGV[1]
local function jobKey(id) return p .. ':job:' .. id end
local function setStatus(id, owner, seq, from, to)
  redis.call('ZREM', p .. ':owner:' .. owner .. ':status:' .. from, id)
  redis.call('ZADD', p .. ':owner:' .. owner .. ':status:' .. to, seq, id)
  if from == 'queued' or from == 'running' then redis.call('ZREM', p .. ':' .. from, id) end
  if to == 'queued' or to == 'running' then redis.call('ZADD', p .. ':' .. to, seq, id) end
  redis.call('HSET', jobKey(id), 'status', to)
end
local function dropAudio(id)
  local key = jobKey(id) .. ':audio'
  local size = redis.call('STRLEN', key)
  if size > 0 then
    redis.call('DEL', key)
    redis.call('DECRBY', p .. ':audio-bytes', size)
  end
end
local function finish(id, job, to, now)
  setStatus(id, job.owner, job.seq, job.status, to)
  redis.call('HSET', jobKey(id), 'completedAt', now, 'token', '')
  redis.call('ZADD', p .. ':finished', now, id)
  dropAudio(id)
end
local function load(id)
  local fields = redis.call('HMGET', jobKey(id), 'status', 'owner', 'seq', 'token')
  if not fields[1] then return nil end
  return { status = fields[1], owner = fields[2], seq = fields[3], token = fields[4] }
end
-- The bounds of unfinished jobs (queued, running, and places held for uploads in flight), this owner's and all owners':
-- false when one more fits, else the refusal ('owner-full' or 'full', and the count). Lapsed places are dropped first.
local function checkRoom(owner, now, maxQueued, maxPerOwner)
  local places = p .. ':places'
  local ownPlaces = p .. ':owner:' .. owner .. ':places'
  redis.call('ZREMRANGEBYSCORE', places, '-inf', '(' .. now)
  redis.call('ZREMRANGEBYSCORE', ownPlaces, '-inf', '(' .. now)
  local own = redis.call('ZCARD', p .. ':owner:' .. owner .. ':status:queued') + redis.call('ZCARD', p .. ':owner:' .. owner .. ':status:running')
    + redis.call('ZCARD', ownPlaces)
  if maxPerOwner < maxQueued and own >= maxPerOwner then return {'owner-full', own} end
  local all = redis.call('ZCARD', p .. ':queued') + redis.call('ZCARD', p .. ':running') + redis.call('ZCARD', places)
  if all >= maxQueued then return {'full', all} end
  return false
end
local function holdPlace(owner, id, expiresAt, ttlMs)
  local ownPlaces = p .. ':owner:' .. owner .. ':places'
  redis.call('ZADD', p .. ':places', expiresAt, id)
  redis.call('ZADD', ownPlaces, expiresAt, id)
  redis.call('PEXPIRE', ownPlaces, ttlMs)
end
local function deleteJob(id)
  local job = load(id)
  if job then
    redis.call('ZREM', p .. ':owner:' .. job.owner .. ':all', id)
    redis.call('ZREM', p .. ':owner:' .. job.owner .. ':status:' .. job.status, id)
  end
  redis.call('ZREM', p .. ':queued', id)
  redis.call('ZREM', p .. ':running', id)
  redis.call('ZREM', p .. ':finished', id)
  dropAudio(id)
  redis.call('DEL', jobKey(id), jobKey(id) .. ':result')
end
`;

/**
 * submit: ARGV p, id, owner, spec (JSON), createdAt, audioSeconds, maxStoredAudioBytes, place ('' for none), maxQueued,
 * maxPerOwner, now. The audio was SET beforehand (with an expiry, in case this never runs). The place becomes the job;
 * without one (or one that lapsed) the bounds are checked here ('full', 'owner-full'). The audio is counted against
 * the budget and kept, or deleted ('budget-full').
 */
const SUBMIT = `
local id = ARGV[2]
local owner = ARGV[3]
local audio = jobKey(id) .. ':audio'
local size = redis.call('STRLEN', audio)
if size == 0 then return {'noaudio'} end
local held = 0
if ARGV[8] ~= '' then
  held = redis.call('ZREM', p .. ':places', ARGV[8])
  redis.call('ZREM', p .. ':owner:' .. owner .. ':places', ARGV[8])
end
if held == 0 then
  local refusal = checkRoom(owner, tonumber(ARGV[11]), tonumber(ARGV[9]), tonumber(ARGV[10]))
  if refusal then
    redis.call('DEL', audio)
    return refusal
  end
end
local used = tonumber(redis.call('GET', p .. ':audio-bytes') or '0')
if used + size > tonumber(ARGV[7]) then
  redis.call('DEL', audio)
  return {'budget-full', tostring(used)}
end
redis.call('PERSIST', audio)
redis.call('INCRBY', p .. ':audio-bytes', size)
local seq = redis.call('INCR', p .. ':seq')
redis.call('HSET', jobKey(id), 'id', id, 'spec', ARGV[4], 'owner', owner, 'seq', seq, 'createdAt', ARGV[5],
  'status', 'queued', 'startedAt', '', 'completedAt', '', 'done', '0', 'total', ARGV[6], 'error', '',
  'attempts', '0', 'recoveries', '0', 'token', '', 'audioBytes', size)
redis.call('ZADD', p .. ':owner:' .. owner .. ':all', seq, id)
redis.call('ZADD', p .. ':owner:' .. owner .. ':status:queued', seq, id)
redis.call('ZADD', p .. ':queued', seq, id)
return {'ok', redis.call('HGETALL', jobKey(id))}
`;

/**
 * claim: ARGV p, id, token, now, maxRecoveries, errorJSON (stored when the job has been recovered too often).
 * queued → running ("claimed"); running, i.e. its worker died and BullMQ gave it to this one → running under the
 * new token ("recovered"), or failed once recovered more than maxRecoveries times ("exhausted"); a finished or
 * unknown job is left alone ("finished", "missing").
 */
const CLAIM = `
local id = ARGV[2]
local job = load(id)
if not job then return {'missing'} end
local key = jobKey(id)
local verdict
if job.status == 'queued' then
  setStatus(id, job.owner, job.seq, 'queued', 'running')
  verdict = 'claimed'
elseif job.status == 'running' then
  local recoveries = redis.call('HINCRBY', key, 'recoveries', 1)
  if recoveries > tonumber(ARGV[5]) then
    redis.call('HSET', key, 'error', ARGV[6])
    finish(id, job, 'failed', ARGV[4])
    return {'exhausted', redis.call('HGETALL', key)}
  end
  verdict = 'recovered'
else
  return {'finished'}
end
redis.call('HSET', key, 'token', ARGV[3], 'startedAt', ARGV[4], 'done', '0')
redis.call('HINCRBY', key, 'attempts', 1)
return {verdict, redis.call('HGETALL', key)}
`;

/** progress: ARGV p, id, token, done, total. Stored while the claim holds; else answers the job's status. */
const PROGRESS = `
local job = load(ARGV[2])
if not job then return 'missing' end
if job.status ~= 'running' or job.token ~= ARGV[3] then return job.status end
redis.call('HSET', jobKey(ARGV[2]), 'done', ARGV[4], 'total', ARGV[5])
return 'ok'
`;

/**
 * settle: ARGV p, id, token, status (succeeded|failed), now, errorJSON or '', stored result (resultCodec) or ''. Stored only while
 * the claim holds ("ok"); else nothing changes ("stale": cancelled meanwhile, or taken up by another worker).
 */
const SETTLE = `
local id = ARGV[2]
local job = load(id)
if not job or job.status ~= 'running' or job.token ~= ARGV[3] then return {'stale'} end
local key = jobKey(id)
if ARGV[4] == 'succeeded' then
  redis.call('SET', key .. ':result', ARGV[7])
  redis.call('HSET', key, 'done', redis.call('HGET', key, 'total'))
else
  redis.call('HSET', key, 'error', ARGV[6])
end
finish(id, job, ARGV[4], ARGV[5])
return {'ok', redis.call('HGETALL', key)}
`;

/** requeue: ARGV p, id, token. The worker is stopping: running → queued, to run again from the start. */
const REQUEUE = `
local id = ARGV[2]
local job = load(id)
if not job or job.status ~= 'running' or job.token ~= ARGV[3] then return 'stale' end
setStatus(id, job.owner, job.seq, 'running', 'queued')
redis.call('HSET', jobKey(id), 'startedAt', '', 'done', '0', 'token', '')
return 'ok'
`;

/**
 * cancel: ARGV p, id, owner, now. queued|running → cancelled ("cancelled", then the status it had); a finished job
 * is unchanged ("unchanged"); another owner's job is as absent as an unknown one ("missing").
 */
const CANCEL = `
local id = ARGV[2]
local job = load(id)
if not job or job.owner ~= ARGV[3] then return {'missing'} end
if job.status == 'queued' or job.status == 'running' then
  finish(id, job, 'cancelled', ARGV[4])
  return {'cancelled', job.status, redis.call('HGETALL', jobKey(id))}
end
return {'unchanged', job.status, redis.call('HGETALL', jobKey(id))}
`;

/** sweep: ARGV p, before (Unix ms), batch. Deletes up to `batch` jobs finished before `before`; returns how many. */
const SWEEP = `
local ids = redis.call('ZRANGEBYSCORE', p .. ':finished', '-inf', '(' .. ARGV[2], 'LIMIT', 0, tonumber(ARGV[3]))
for _, id in ipairs(ids) do deleteJob(id) end
return #ids
`;

/**
 * reserve: ARGV p, id, owner, now, expiresAt, ttlMs, maxQueued, maxPerOwner. A place for one job of `owner` ("ok"), or
 * the refusal of checkRoom.
 */
const RESERVE = `
local refusal = checkRoom(ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[7]), tonumber(ARGV[8]))
if refusal then return refusal end
holdPlace(ARGV[3], ARGV[2], ARGV[5], ARGV[6])
return {'ok'}
`;

/** renew: ARGV p, expiresAt, ttlMs, then owner and id of each place held. Places that lapsed meanwhile stay gone. */
const RENEW = `
for i = 4, #ARGV, 2 do
  local owner, id = ARGV[i], ARGV[i + 1]
  if redis.call('ZSCORE', p .. ':places', id) then holdPlace(owner, id, ARGV[2], ARGV[3]) end
end
return 1
`;

/** release: ARGV p, owner, id. Gives a place back. */
const RELEASE = `
redis.call('ZREM', p .. ':places', ARGV[3])
redis.call('ZREM', p .. ':owner:' .. ARGV[2] .. ':places', ARGV[3])
return 1
`;

/** discard: ARGV p, id. Deletes a job whose submission could not be completed (BullMQ refused it). */
const DISCARD = `
deleteJob(ARGV[2])
return 1
`;

class LuaScript {
  readonly source: string;
  readonly sha: string;
  constructor(body: string) {
    this.source = PRELUDE + body;
    this.sha = createHash("sha1").update(this.source).digest("hex");
  }

  /** EVALSHA, loading the script (EVAL) when this Redis does not have it yet (first use, or after a restart). */
  async run(redis: Redis, args: Array<string | number | Buffer>): Promise<unknown> {
    try {
      return await redis.evalsha(this.sha, 0, ...args);
    } catch (error) {
      if (!String((error as Error).message).includes("NOSCRIPT")) throw error;
      return redis.eval(this.source, 0, ...args);
    }
  }
}

export const scripts = {
  submit: new LuaScript(SUBMIT),
  reserve: new LuaScript(RESERVE),
  renew: new LuaScript(RENEW),
  release: new LuaScript(RELEASE),
  claim: new LuaScript(CLAIM),
  progress: new LuaScript(PROGRESS),
  settle: new LuaScript(SETTLE),
  requeue: new LuaScript(REQUEUE),
  cancel: new LuaScript(CANCEL),
  sweep: new LuaScript(SWEEP),
  discard: new LuaScript(DISCARD),
};
