import { loadTestEngine, speechOfLength } from "/work/main/test/support/engineFixtures.js";
const e = await loadTestEngine({ threadsPerJob: 2 });
for (const s of [15, 95, 240]) {
  const pcm = await speechOfLength(s);
  const t = Date.now();
  let first = 0;
  const r = await e.transcribe(pcm, { language: "en" }, { onSegment: () => { if (!first) first = Date.now() - t; } });
  console.log(s, Date.now() - t, "first", first, r.segments.length, r.timings);
}
await e.close();
