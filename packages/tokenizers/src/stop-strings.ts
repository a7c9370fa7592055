import { TokenizerError } from './errors.js';

export interface StopMatch {
  /** Text safe to show now. */
  text: string;
  /** The stop string that ended generation, if one did. */
  stop: string | undefined;
}

/**
 * The first stop string in `text`: the one that ends earliest (generation halts there), the longest
 * among those ending at the same place. Returns the cut position and the stop string.
 */
export function findStopString(
  text: string,
  stops: readonly string[],
): { index: number; stop: string } | undefined {
  let best: { index: number; stop: string; end: number } | undefined;
  for (const stop of stops) {
    if (stop.length === 0) continue;
    const index = text.indexOf(stop);
    if (index < 0) continue;
    const end = index + stop.length;
    if (!best || end < best.end || (end === best.end && index < best.index)) best = { index, stop, end };
  }
  return best && { index: best.index, stop: best.stop };
}

/**
 * Streams text through a set of stop strings: text that could be the start of a stop string is held
 * back until it cannot be, and output is cut at the first full match, so no part of a stop string is
 * ever emitted, however the text is split into chunks.
 */
export class StopStringMatcher {
  private readonly stops: string[];
  private held = '';
  private stoppedWith: string | undefined;

  constructor(stops: readonly string[]) {
    if (!Array.isArray(stops) || stops.some((s) => typeof s !== 'string' || s.length === 0)) {
      throw new TokenizerError('INVALID_ARGUMENT', 'StopStringMatcher needs an array of non-empty strings.');
    }
    this.stops = [...new Set(stops)];
  }

  get stopped(): boolean {
    return this.stoppedWith !== undefined;
  }

  push(chunk: string): StopMatch {
    if (this.stoppedWith !== undefined) return { text: '', stop: this.stoppedWith };
    const buffer = this.held + chunk;
    const found = findStopString(buffer, this.stops);
    if (found) {
      this.stoppedWith = found.stop;
      this.held = '';
      return { text: buffer.slice(0, found.index), stop: found.stop };
    }
    const keep = this.partialSuffixLength(buffer);
    this.held = buffer.slice(buffer.length - keep);
    return { text: buffer.slice(0, buffer.length - keep), stop: undefined };
  }

  /** Generation ended without a stop string: the held text was not a stop after all. */
  flush(): string {
    const rest = this.stoppedWith === undefined ? this.held : '';
    this.held = '';
    return rest;
  }

  /** Length of the longest suffix of `text` that is a proper prefix of some stop string. */
  private partialSuffixLength(text: string): number {
    let best = 0;
    for (const stop of this.stops) {
      for (let len = Math.min(stop.length - 1, text.length); len > best; len--) {
        if (text.endsWith(stop.slice(0, len))) {
          best = len;
          break;
        }
      }
    }
    return best;
  }
}
