export type OutputStream = 'stdout' | 'stderr';

export interface ScriptRunRequest {
  /** Path of the script; its extension picks the interpreter (.ps1 pwsh, .sh bash, .js/.mjs node). */
  script: string;
  /** Extra arguments, passed as an array (never through a shell). */
  args?: readonly string[];
  cwd: string;
  /**
   * Variables added to the child's environment. The child does NOT inherit the bot's whole
   * environment (which holds its tokens): only a small safe base (PATH, HOME, LANG, ...) plus these.
   */
  env?: Readonly<Record<string, string>>;
  /** Written as JSON to a private temporary file whose path is given in `payloadEnvVar`. */
  payload?: unknown;
  /** Default DECKHAND_PAYLOAD_FILE. */
  payloadEnvVar?: string;
  /** After this the whole process group gets SIGTERM, then SIGKILL after killGraceMs. */
  timeoutMs: number;
  /** Default 5000. */
  killGraceMs?: number;
  /** Output kept in memory (the tail); default 64 KiB. */
  maxOutputBytes?: number;
  /** Values replaced by *** in everything that leaves the runner (output, lines, errors). */
  secrets?: readonly string[];
  /** Called for each complete output line, already redacted. */
  onLine?: (line: string, stream: OutputStream) => void;
  /** Aborting kills the process group like a timeout does. */
  signal?: AbortSignal;
  /** Called once the script runs, with its process group id (= its pid). */
  onSpawn?: (pgid: number) => void;
}

export interface ScriptRunResult {
  exitCode: number | null;
  /** The signal that ended the process, if any (e.g. SIGTERM after a timeout). */
  signal: string | null;
  timedOut: boolean;
  aborted: boolean;
  durationMs: number;
  /** stdout and stderr interleaved in arrival order, redacted, at most maxOutputBytes (the tail). */
  output: string;
  /** True when earlier output was dropped to respect maxOutputBytes. */
  truncated: boolean;
}
