// CPU the rest of the machine took while a benchmark ran (Linux /proc): the machine's busy time from /proc/stat
// minus the CPU time of the benchmark's own process tree (itself, its servers and workers, their FFmpeg
// children), so that a figure measured beside other work says how much other work there was.
import fs from "node:fs";

const TICKS_PER_SECOND = 100; // USER_HZ

/** Busy CPU-seconds of the whole machine since boot (every core). */
function machineBusySeconds(): number {
  const fields = fs.readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal ...
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = fields;
  return (user + nice + system + irq + softirq + steal) / TICKS_PER_SECOND;
}

/** CPU-seconds of every process whose ancestry reaches `root` (itself included), with their reaped children. */
function treeCpuSeconds(root: number): number {
  const parent = new Map<number, number>();
  const cpu = new Map<number, number>();
  for (const name of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, "utf8");
      // After the command (in parentheses, may hold spaces): state ppid ... utime(14) stime(15) cutime(16) cstime(17).
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      parent.set(Number(name), Number(fields[1]));
      cpu.set(Number(name), Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]));
    } catch {
      // gone
    }
  }
  let ticks = 0;
  for (const [pid, used] of cpu) {
    for (let p: number | undefined = pid, hops = 0; p !== undefined && p > 0 && hops < 64; p = parent.get(p), hops++) {
      if (p === root) {
        ticks += used;
        break;
      }
    }
  }
  return ticks / TICKS_PER_SECOND;
}

/**
 * Measures one phase: `stop()` gives the CPU-seconds this process tree used and the CPU-seconds everything else
 * on the machine used since `start`. NaN off Linux. (Processes of the tree that exit and are reaped by it count
 * through their parent's children's time; the other processes' exits between the samples are approximations.)
 */
export function cpuPhase(): { stop(): { ours: number; others: number } } {
  if (!fs.existsSync("/proc/stat")) return { stop: () => ({ ours: NaN, others: NaN }) };
  const busy0 = machineBusySeconds();
  const ours0 = treeCpuSeconds(process.pid);
  return {
    stop() {
      const ours = treeCpuSeconds(process.pid) - ours0;
      return { ours, others: Math.max(0, machineBusySeconds() - busy0 - ours) };
    },
  };
}

/**
 * Waits (up to `maxSeconds`) for a second in which the rest of the machine took under 5 % of one CPU, so that a
 * measurement does not start while someone else's work holds a core (ggml's threads then wait on each other and a run
 * takes several times as long). Returns the seconds waited; 0 at once off Linux or with `maxSeconds` 0.
 */
export async function waitForIdle(maxSeconds: number): Promise<number> {
  if (!fs.existsSync("/proc/stat") || maxSeconds <= 0) return 0;
  const started = performance.now();
  while (performance.now() - started < maxSeconds * 1000) {
    const phase = cpuPhase();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    if (phase.stop().others < 0.05) break;
  }
  return (performance.now() - started) / 1000;
}
