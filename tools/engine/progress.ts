// Default renderer of EngineEvents for people watching a run.

import type { EngineEvent } from "./types";

export interface ProgressRenderer {
  onEvent(event: EngineEvent): void;
  /** Stop repainting and leave the cursor on a clean line. */
  stop(): void;
}

export interface ProgressRendererOptions {
  /** @default process.stderr */
  stream?: NodeJS.WriteStream;
  /** Live status line (TTY) or one line per finished resource. @default stream.isTTY */
  live?: boolean;
  /** Also print handler log lines (dial retries and such). @default false */
  verbose?: boolean;
}

/**
 * On a TTY: one status line repainted every second
 * ("running: pg1-install (34s), etcd2-install (33s) | done 12/40 failed 0").
 * Elsewhere (CI, pipes): one line per finished or failed resource.
 * Failures are always printed in full, with host and output tail.
 */
export function createProgressRenderer(options: ProgressRendererOptions = {}): ProgressRenderer {
  const stream = options.stream ?? process.stderr;
  const live = options.live ?? Boolean(stream.isTTY);
  const running = new Map<string, number>();
  let seen = 0;
  let done = 0;
  let failed = 0;
  let statusShown = false;

  const clearStatus = () => {
    if (statusShown) stream.write("\r\x1b[K");
    statusShown = false;
  };
  const paintStatus = () => {
    if (!live) return;
    clearStatus();
    stream.write(statusLine(running, done, seen, failed, stream.columns ?? 120));
    statusShown = true;
  };
  const println = (text: string) => {
    clearStatus();
    stream.write(`${text}\n`);
    paintStatus();
  };
  const timer = live ? setInterval(paintStatus, 1000) : undefined;
  timer?.unref();

  return {
    onEvent(event) {
      switch (event.kind) {
        case "start":
          seen++;
          running.set(event.name, event.at);
          paintStatus();
          break;
        case "finish":
          done++;
          running.delete(event.name);
          if (live) paintStatus();
          else println(`done   ${event.name} (${event.type}) in ${seconds(event.durationMs)}`);
          break;
        case "fail":
          failed++;
          running.delete(event.name);
          println(failureReport(event));
          break;
        case "log":
          if (options.verbose) println(`       ${event.name}: ${event.message}`);
          break;
        case "diagnostic":
          println(`${event.severity}: ${event.message}`);
          break;
      }
    },
    stop() {
      if (timer) clearInterval(timer);
      clearStatus();
    },
  };
}

function statusLine(running: Map<string, number>, done: number, seen: number, failed: number, columns: number): string {
  const now = Date.now();
  const names = [...running.entries()].map(([name, at]) => `${name} (${Math.round((now - at) / 1000)}s)`);
  const line = `running: ${names.join(", ") || "-"} | done ${done}/${seen} failed ${failed}`;
  return line.length < columns ? line : `${line.slice(0, columns - 2)}…`;
}

export function failureReport(event: Extract<EngineEvent, { kind: "fail" }>): string {
  const where = event.host ? ` on ${event.host}` : "";
  const tail = event.outputTail ? `\n${event.outputTail.replace(/^/gm, "  | ")}` : "";
  return `FAILED ${event.name} (${event.type})${where} after ${seconds(event.durationMs)}: ${event.message}${tail}`;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}
