// From the segmentation model's windows to pieces of speaker turns on the recording's timeline.
//
// Windows overlap (10 s every 5 s): each window rules the middle of its span (the first from the start, the last to
// the end), where its view is widest. A window's local speakers (up to three) are not the next window's: they are
// stitched across the overlap by the assignment that agrees on the most frames, so one person speaking across a
// window boundary stays one track. A piece is a run of frames in which one track speaks, cut at most every
// `maxPieceSeconds`; its clean ranges are the frames where that track speaks alone (what its embedding is made of).
// Overlapped speech gives overlapping pieces of different tracks.

/** One window's activity: `active[frame * localSpeakers + speaker]` is 1 where that local speaker speaks. */
export interface WindowActivity {
  /** The window's first sample on the recording's timeline. */
  startSample: number;
  active: Uint8Array;
}

/** The frame grid of the segmentation model (pyannote's receptive field). */
export interface FrameGrid {
  sampleRate: number;
  windowSamples: number;
  frameCount: number;
  /** Samples between frames, and the span of one frame's receptive field. */
  frameShift: number;
  receptiveField: number;
  localSpeakers: number;
}

/** A run of one track's speech, in samples on the recording's timeline. */
export interface SpeakerPiece {
  track: number;
  start: number;
  end: number;
  /** Sample ranges [start, end) where this track speaks alone. */
  clean: Array<[number, number]>;
}

export class PieceTracker {
  /** The last window seen, its local speakers' tracks, and where its rule ends. */
  private previous: { window: WindowActivity; tracks: number[] } | undefined;
  private nextTrack = 0;
  private readonly open = new Map<number, SpeakerPiece>();
  /** Samples up to which the timeline has been ruled. */
  private ruledUntil = 0;

  constructor(
    private readonly grid: FrameGrid,
    private readonly stepSamples: number,
    private readonly maxPieceSamples: number,
    /** A track's silence at least this long ends its piece (default 0: any silence does). */
    private readonly maxPauseSamples = 0,
  ) {}

  /** The first sample an open piece still needs (audio before it can be let go). */
  get neededFrom(): number {
    let from = this.ruledUntil;
    for (const piece of this.open.values()) from = Math.min(from, piece.start);
    return from;
  }

  /**
   * Takes the next window (windows in order, `stepSamples` apart) and rules its part of the timeline: up to the middle
   * of its overlap with the next window, or to `endSample` when it is the last. Returns the pieces that closed.
   */
  addWindow(window: WindowActivity, endSample?: number): SpeakerPiece[] {
    const tracks = this.stitch(window);
    const closed: SpeakerPiece[] = [];
    // A track this window does not carry on has ended.
    for (const track of [...this.open.keys()]) if (!tracks.includes(track)) closed.push(this.close(track));
    const overlapMiddle = window.startSample + Math.floor((this.grid.windowSamples + this.stepSamples) / 2);
    const ruleEnd = endSample ?? overlapMiddle;
    const { localSpeakers, frameCount } = this.grid;
    for (let frame = 0; frame < frameCount; frame++) {
      const [from, to] = this.frameSpan(window.startSample, frame, frame === frameCount - 1 ? ruleEnd : undefined);
      const start = Math.max(from, this.ruledUntil);
      const end = Math.min(to, ruleEnd);
      if (end <= start) continue;
      let speaking = 0;
      for (let s = 0; s < localSpeakers; s++) speaking += window.active[frame * localSpeakers + s]!;
      for (let s = 0; s < localSpeakers; s++) {
        const track = tracks[s]!;
        const piece = this.open.get(track);
        if (!window.active[frame * localSpeakers + s]) {
          // A pause shorter than maxPauseSamples does not end the piece (a breath, a stop consonant).
          if (piece && end - piece.end >= this.maxPauseSamples) closed.push(this.close(track));
          continue;
        }
        const current = piece && piece.end - piece.start < this.maxPieceSamples ? piece : this.reopen(track, start, piece, closed);
        current.end = end;
        if (speaking === 1) {
          const last = current.clean.at(-1);
          if (last && last[1] >= start) last[1] = end;
          else current.clean.push([start, end]);
        }
      }
      this.ruledUntil = end;
    }
    this.previous = { window, tracks };
    if (endSample !== undefined) for (const track of [...this.open.keys()]) closed.push(this.close(track));
    return closed;
  }

  /** The samples frame `frame` of a window stands for: its shift-wide slot around its receptive field's centre. */
  private frameSpan(windowStart: number, frame: number, lastUntil?: number): [number, number] {
    const { frameShift, receptiveField } = this.grid;
    const centre = windowStart + frame * frameShift + receptiveField / 2;
    const from = frame === 0 ? windowStart : Math.round(centre - frameShift / 2);
    const to = lastUntil ?? Math.round(centre + frameShift / 2);
    return [from, to];
  }

  private reopen(track: number, start: number, full: SpeakerPiece | undefined, closed: SpeakerPiece[]): SpeakerPiece {
    if (full) closed.push(this.close(track));
    const piece: SpeakerPiece = { track, start, end: start, clean: [] };
    this.open.set(track, piece);
    return piece;
  }

  private close(track: number): SpeakerPiece {
    const piece = this.open.get(track)!;
    this.open.delete(track);
    return piece;
  }

  /** Each local speaker's track: the previous window's by the best agreement over the overlap, else a new one. */
  private stitch(window: WindowActivity): number[] {
    const { localSpeakers } = this.grid;
    const previous = this.previous;
    if (!previous) return Array.from({ length: localSpeakers }, () => this.nextTrack++);
    const agreement = this.agreement(previous.window, window);
    let best: number[] = [];
    let bestScore = -1;
    for (const permutation of permutations(localSpeakers)) {
      let score = 0;
      for (let s = 0; s < localSpeakers; s++) score += agreement[s * localSpeakers + permutation[s]!]!;
      if (score > bestScore) {
        bestScore = score;
        best = permutation;
      }
    }
    // A local speaker that shares no speech with its match is somebody new.
    return best.map((match, s) => (agreement[s * localSpeakers + match]! > 0 ? previous.tracks[match]! : this.nextTrack++));
  }

  /** Frames of the overlap where local speaker s (of `current`) and s' (of `previous`) both speak: [s * n + s']. */
  private agreement(previous: WindowActivity, current: WindowActivity): Uint32Array {
    const { frameShift, localSpeakers: n, frameCount } = this.grid;
    const offsetFrames = (current.startSample - previous.startSample) / frameShift;
    const counts = new Uint32Array(n * n);
    for (let frame = 0; frame < frameCount; frame++) {
      const other = Math.round(frame + offsetFrames);
      if (other < 0 || other >= frameCount) continue;
      for (let s = 0; s < n; s++) {
        if (!current.active[frame * n + s]) continue;
        for (let t = 0; t < n; t++) counts[s * n + t]! += previous.active[other * n + t]!;
      }
    }
    return counts;
  }
}

/** Every ordering of 0..n-1. */
function permutations(n: number): number[][] {
  if (n <= 1) return [Array.from({ length: n }, (_, i) => i)];
  return permutations(n - 1).flatMap((rest) => Array.from({ length: n }, (_, at) => [...rest.slice(0, at), n - 1, ...rest.slice(at)]));
}
