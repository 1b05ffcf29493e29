// Wyoming latency against the WebSocket on the same server: spoken utterances paced in real time into a Wyoming
// connection (16 kHz chunks of 100 ms) and into a realtime WebSocket session in manual commit mode with the same
// `delay`; medians of speech start → first `transcript-chunk` (first delta) and `audio-stop` → `transcript`
// (commit → `completed`). The generated tiny test model: junk text, honest timings.
//
//   npm run bench:wyoming                 (delay low, Wyoming's default)
//   npm run bench:wyoming -- minimal
import { resamplePcm16, spokenTurns, RealtimeClient, realtimeUrl, COMPLETED } from "../test/support/realtime.js";
import { startTestServer } from "../test/support/server.js";
import { sendAudio, WyomingClient } from "../test/support/wyoming.js";

const DELAY = process.argv[2] ?? "low";
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const server = await startTestServer({ wyoming: "127.0.0.1:0", wyomingDelay: DELAY });
const sentences = ["Earshot is a self hosted speech to text server. It accepts audio in many formats and answers quickly.", "Please turn on the kitchen lights and set the thermostat to twenty degrees.", "What is the weather going to be like tomorrow morning in the city?"];
const wy = { first: [] as number[], final: [] as number[] };
const ws = { first: [] as number[], final: [] as number[] };
for (const sentence of sentences) {
  const speech = await spokenTurns([sentence], { leadMs: 300, gapMs: 300 });
  const pcm16k = await resamplePcm16(speech.pcm, 16_000);
  // Wyoming
  const client = await WyomingClient.connect(server.server.wyoming!.port);
  client.send("transcribe", { language: "en" });
  const started = performance.now();
  client.send("audio-start", { rate: 16_000, width: 2, channels: 1 });
  await sendAudio(client, pcm16k, { rate: 16_000, channels: 1 }, { paced: true });
  const stopped = performance.now();
  client.send("audio-stop");
  const transcript = await client.next("transcript");
  const first = client.of("transcript-chunk")[0]!;
  wy.first.push(first.at - (started + speech.sentences[0]!.startMs));
  wy.final.push(transcript.at - stopped);
  client.close();
  // WebSocket, the same session settings
  const rt = await RealtimeClient.open(realtimeUrl(server.url));
  rt.send({ type: "session.update", session: { type: "transcription", audio: { input: { turn_detection: null, transcription: { model: "whisper-1", language: "en", delay: DELAY } } } } });
  await rt.next("session.updated");
  const wsStarted = Date.now();
  await rt.streamAudio(speech.pcm, { realtime: true });
  const wsStopped = Date.now();
  rt.send({ type: "input_audio_buffer.commit" });
  const done = await rt.next(COMPLETED);
  const delta = rt.events.find((e) => e.type === "conversation.item.input_audio_transcription.delta")!;
  ws.first.push(delta.t - (wsStarted + speech.sentences[0]!.startMs));
  ws.final.push(done.t - wsStopped);
  rt.socket.close();
}
console.log(JSON.stringify({ wyoming: wy, websocket: ws }));
console.log(`medians: Wyoming first chunk ${Math.round(median(wy.first))} ms after speech start, transcript ${Math.round(median(wy.final))} ms after audio-stop; WebSocket first delta ${Math.round(median(ws.first))} ms, completed ${Math.round(median(ws.final))} ms after commit`);
await server.close();
