// Commit-order output (src/server/realtime/orderedOutput.ts): a turn's events wait until every earlier turn has
// finished, so `completed` events arrive in commit order however the transcriptions finish.
import { describe, expect, it } from "vitest";

import { OrderedOutput } from "../../src/server/realtime/orderedOutput.js";

describe("OrderedOutput", () => {
  it("holds a later turn's events until every earlier turn has finished", () => {
    const sent: string[] = [];
    const output = new OrderedOutput<string>((event) => sent.push(event));
    output.open("a");
    output.open("b");
    output.open("c");
    output.emit("b", "b1");
    output.emit("c", "c1");
    output.finish("c");
    output.emit("a", "a1");
    expect(sent).toEqual(["a1"]);
    output.emit("b", "b2");
    output.finish("a");
    expect(sent).toEqual(["a1", "b1", "b2"]);
    output.emit("b", "b3");
    output.finish("b");
    expect(sent).toEqual(["a1", "b1", "b2", "b3", "c1"]);
    expect(output.pending).toBe(0);
  });

  it("sends live text after every turn then in line, and at once when none is", () => {
    const sent: string[] = [];
    const output = new OrderedOutput<string>((event) => sent.push(event));
    output.emitAfterAll("live0");
    expect(sent).toEqual(["live0"]);
    output.open("a");
    output.emitAfterAll("live1");
    output.open("b");
    output.emit("b", "b1");
    output.emitAfterAll("live2");
    output.emit("a", "a1");
    expect(sent).toEqual(["live0", "a1"]);
    output.finish("a");
    expect(sent).toEqual(["live0", "a1", "live1", "b1"]);
    output.finish("b");
    expect(sent).toEqual(["live0", "a1", "live1", "b1", "live2"]);
  });
});
