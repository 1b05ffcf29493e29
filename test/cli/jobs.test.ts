// `earshot jobs` as a user runs it: the built CLI (dist/) in its own process, talking HTTP to the real server on
// loopback (generated model, real FFmpeg, embedded SQLite in a temp data dir, an API key), the official SDK
// beside it for the synchronous transcription the results are compared with.
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";

import { toFile } from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { freePort } from "../support/loopbackPorts.js";
import { longSpeechWav, startTestServer, waitFor, WINDOW_TEXT, type TestServer } from "../support/server.js";
import { encodeWithFfmpeg, longSpeech, writeWav } from "../support/speech.js";

const root = path.resolve(import.meta.dirname, "..", "..");
const earshot = path.join(root, "bin", "earshot.js");
const run = promisify(execFile);
const API_KEY = "sk-jobs-cli-test";

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

let server: TestServer;
let dir: string;
let wav: string;
let mp3: string;
/** 20 minutes of speech: a job still running when it is cancelled, even on a fast machine. */
let long: string;

/** Runs `earshot ...` (never throws: the exit code is in the result), pointed at the test server by the environment. */
async function cli(args: string[], env: Record<string, string | undefined> = {}): Promise<CliResult> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith("EARSHOT_") && key !== "OPENAI_API_KEY"));
  const merged: Record<string, string | undefined> = { ...base, EARSHOT_URL: server.url, EARSHOT_API_KEY: API_KEY, ...env };
  for (const key of Object.keys(merged)) if (merged[key] === undefined) delete merged[key];
  try {
    const { stdout, stderr } = await run(process.execPath, [earshot, ...args], { cwd: dir, env: merged, maxBuffer: 16 << 20, timeout: 50_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failure = error as { code?: number | string; stdout?: string; stderr?: string };
    if (typeof failure.code !== "number") throw error;
    return { code: failure.code, stdout: failure.stdout ?? "", stderr: failure.stderr ?? "" };
  }
}

async function serverJob(id: string): Promise<{ status: string; [key: string]: unknown }> {
  const response = await fetch(`${server.url}/v1/audio/jobs/${id}`, { headers: { authorization: `Bearer ${API_KEY}` } });
  expect(response.status).toBe(200);
  return (await response.json()) as { status: string };
}

beforeAll(async () => {
  expect(fs.existsSync(path.join(root, "dist", "cli", "main.js")), "dist/ is built (npm run build)").toBe(true);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "earshot-cli-jobs-"));
  const dataDir = path.join(dir, "data");
  server = await startTestServer({ dataDir, apiKeys: API_KEY, parallelJobs: "1" });
  const speech = await longSpeech();
  wav = path.join(dir, "speech.wav");
  await writeWav(wav, speech.samples, speech.sampleRate);
  mp3 = path.join(dir, "speech copy.mp3");
  fs.writeFileSync(mp3, await encodeWithFfmpeg(wav, "mp3"));
  long = path.join(dir, "long.wav");
  fs.writeFileSync(long, await longSpeechWav(1200));
}, 60_000);

afterAll(async () => {
  await server?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe("earshot jobs", () => {
  let first: string;
  let second: string;

  it("submit --wait uploads two files, follows them with plain progress lines off a terminal, and prints both results", async () => {
    const { code, stdout, stderr } = await cli(["jobs", "submit", wav, mp3, "--wait", "--metadata", "batch=7", "--metadata", "customer=acme corp", "--language", "en"]);
    expect(stderr).not.toMatch(/earshot:/);
    expect(code).toBe(0);
    const ids = [...stderr.matchAll(/: submitted as (job_\w+) \(queued, \d+\.\d s of audio\)/g)].map((m) => m[1]!);
    expect(ids).toHaveLength(2);
    [first, second] = ids as [string, string];
    expect(stderr).toContain(`${wav}: submitted as ${first}`);
    // One line per state each job reaches; both end succeeded.
    expect(stderr).toMatch(new RegExp(`${first} speech\\.wav: succeeded \\d+\\.\\d s of audio`));
    expect(stderr).toMatch(new RegExp(`${second} speech copy\\.mp3: succeeded`));
    expect(stdout).toBe(`==> ${wav} <==\n${WINDOW_TEXT}\n==> ${mp3} <==\n${WINDOW_TEXT}\n`);
  });

  it("list shows them newest first, with a `more:` line when there is another page", async () => {
    // Independent calls, side by side (each CLI process spends most of its time starting).
    const [table, next, after] = await Promise.all([
      cli(["jobs", "list"]),
      cli(["jobs", "list", "--limit", "1"]),
      cli(["jobs", "list", "--after", second, "--status", "succeeded", "--json"]),
    ]);
    expect(table.code).toBe(0);
    const lines = table.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^ID\s+STATUS\s+DONE\s+AUDIO\s+CREATED\s+FILE$/);
    expect(lines.slice(1).map((line) => line.split(/\s+/).slice(0, 3))).toEqual([
      [second, "succeeded", "100%"],
      [first, "succeeded", "100%"],
    ]);
    expect(lines[2]).toMatch(/ speech\.wav$/);

    expect(next.stdout.trim().split("\n").slice(1).map((line) => line.split(/\s+/)[0])).toEqual([second]);
    expect(next.stderr).toContain(`more: earshot jobs list --after ${second}`);
    const body = JSON.parse(after.stdout);
    expect(body).toMatchObject({ object: "list", first_id: first, last_id: first, has_more: false });
    expect(body.data.map((job: { id: string }) => job.id)).toEqual([first]);
  });

  it("get prints the job; --json prints the server's object", async () => {
    const [human, json] = await Promise.all([cli(["jobs", "get", first]), cli(["jobs", "get", first, "--json"])]);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(new RegExp(`^${first}\\n  status    succeeded\\n  file      speech\\.wav\\n  task      transcribe \\(model whisper-1\\)\\n`));
    expect(human.stdout).toContain("  metadata  batch=7, customer=acme corp\n");
    expect(JSON.parse(json.stdout)).toEqual(await serverJob(first));
  });

  it("result --format srt equals a synchronous transcription of the same file; -o writes it to a file", async () => {
    const sync = await server.client(API_KEY).audio.transcriptions.create({
      file: await toFile(fs.createReadStream(wav), "speech.wav"),
      model: "whisper-1",
      language: "en",
      response_format: "srt",
      // Jobs run VAD-chunked: the same pipeline.
      chunking_strategy: "auto",
    });
    const { code, stdout } = await cli(["jobs", "result", first, "--format", "srt"]);
    expect(code).toBe(0);
    expect(stdout.trim()).toBe(String(sync).trim());
    expect(stdout).toContain("00:00:03,000 --> 00:00:06,000\nfour five six");
    const target = path.join(dir, "first.vtt");
    const written = await cli(["jobs", "result", first, "-f", "vtt", "-o", target]);
    expect(written.stderr).toContain(`wrote ${target}`);
    expect(fs.readFileSync(target, "utf8")).toMatch(/^WEBVTT\n\n/);
  });

  it("cancel stops a running and a queued job (twice is fine); their results are refused with the server's message", async () => {
    const submitted = await cli(["jobs", "submit", long, wav]);
    expect(submitted.code).toBe(0);
    const ids = submitted.stdout.trim().split("\n");
    expect(ids).toHaveLength(2);
    for (const id of ids) expect(id).toMatch(/^job_[0-9a-zA-Z]{24}$/);
    // One job at a time (EARSHOT_JOBS_CONCURRENCY default 1): the long one runs, the short one waits.
    await waitFor("the long job to run", async () => (await serverJob(ids[0]!)).status === "running", 20_000, 50);
    expect((await serverJob(ids[1]!)).status).toBe("queued");

    const cancelled = await cli(["jobs", "cancel", ...ids]);
    expect(cancelled.code).toBe(0);
    expect(cancelled.stdout).toBe(`${ids[0]}: cancelled\n${ids[1]}: cancelled\n`);
    // Again, and a job that has finished: left as they are.
    const again = await cli(["jobs", "cancel", ids[0]!, first]);
    expect(again.code).toBe(0);
    expect(again.stdout).toBe(`${ids[0]}: cancelled\n${first}: already succeeded, nothing to cancel\n`);
    await waitFor("both cancelled", async () => (await serverJob(ids[0]!)).status === "cancelled" && (await serverJob(ids[1]!)).status === "cancelled");

    const result = await cli(["jobs", "result", ids[1]!]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^earshot: .*cancelled.* \[HTTP 409 job_cancelled\]\n$/);
  });

  it("an unknown id, a file that is not audio, a missing key and no server: one clear line each, non-zero exit", async () => {
    const notes = path.join(dir, "notes.mp3");
    fs.writeFileSync(notes, "this is not audio at all\n".repeat(20));
    const closed = await freePort();
    const [unknown, mixed, keyless, openaiKey, refused] = await Promise.all([
      cli(["jobs", "get", "job_000000000000000000000000"]),
      // The bad file is refused at submit (the server's 415); the good one after it is still submitted.
      cli(["jobs", "submit", notes, wav]),
      cli(["jobs", "list"], { EARSHOT_API_KEY: undefined }),
      // OPENAI_API_KEY is the key when EARSHOT_API_KEY is not set.
      cli(["jobs", "list", "--json"], { EARSHOT_API_KEY: undefined, OPENAI_API_KEY: API_KEY }),
      // No URL: the one EARSHOT_PORT says `earshot serve` would listen on.
      cli(["jobs", "list"], { EARSHOT_URL: undefined, EARSHOT_PORT: String(closed) }),
    ]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^earshot: job_000000000000000000000000: .+ \[HTTP 404 job_not_found\]\n$/);

    expect(mixed.code).toBe(1);
    expect(mixed.stderr).toMatch(new RegExp(`^earshot: ${notes.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: .+ \\[HTTP 415 \\w+\\]$`, "m"));
    expect(mixed.stdout).toMatch(/^job_\w{24}\n$/);

    expect(keyless.code).toBe(1);
    expect(keyless.stderr).toMatch(/\(pass the key with --api-key or EARSHOT_API_KEY\) \[HTTP 401 invalid_api_key\]/);
    expect(openaiKey.code).toBe(0);
    expect(JSON.parse(openaiKey.stdout).object).toBe("list");

    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(
      `earshot: cannot reach the Earshot server at http://127.0.0.1:${closed} (connection refused); is \`earshot serve\` running there? (--url or EARSHOT_URL names the server)\n`,
    );
  });
});
