/** A piece of a command's output, delivered as it arrives. */
export interface OutputChunk {
  /** Which stream it came from; shell sessions merge stderr into `stdout`. */
  stream: 'stdout' | 'stderr';
  /** Decoded UTF-8 text (a multi-byte character is never split across chunks). */
  text: string;
}

/** Receives output while a command runs. */
export type OutputListener = (chunk: OutputChunk) => void;
