// Public API of the engine stand-in.
//
//   const { config, secretKeys } = loadStackConfig("lab");
//   const result = await runProgram({ programPath: "index.ts", stack: "lab", config, secretKeys,
//                                     mode: "lab", timeoutMs: 15 * 60_000, onEvent: renderer.onEvent });
//
// runProgram() gives every run its own child process (node + tsx), because the
// SDK's state is global and `require` caches the program: a second run in the
// same process would see the first one's resources and config.

import { ChildProcess, spawn } from "child_process";
import * as path from "path";
import { pathToFileURL } from "url";
import type { ChildMessage, ParentMessage } from "./child";
import { findProjectDir } from "./stackConfig";
import { EngineError, EngineEvent, RunRequest, RunResult } from "./types";

export * from "./types";
export { loadStackConfig, LoadStackConfigOptions, StackConfig } from "./stackConfig";
export { createProgressRenderer, failureReport, ProgressRenderer } from "./progress";
export { redactSecrets, secretValue, SECRET_MARKER } from "./values";
export { runProgramInProcess, destroyInProcess, DestroyRequest } from "./run";
export { formatChanges, formatSummary, stepReports, StepReport } from "./summary";
export { loadState, removeState, saveState, StackState, StoredResource } from "./state";

export interface RunProgramOptions extends RunRequest {
  onEvent?: (event: EngineEvent) => void;
  /**
   * Where the program's own stdout/stderr go. They never reach this process's
   * stdout, which stays free for machine-readable output.
   * @default - written to this process's stderr
   */
  onProgramOutput?: (text: string) => void;
}

/** Extra time the parent gives the child past timeoutMs before killing it outright. */
const KILL_GRACE_MS = 10_000;

/** Run a Pulumi program once, in a fresh child process. Rejects with an EngineError. */
export function runProgram(options: RunProgramOptions): Promise<RunResult> {
  const { onEvent, onProgramOutput, ...request } = options;
  const programPath = path.resolve(request.programPath);
  const write = onProgramOutput ?? ((text: string) => process.stderr.write(text));
  const child = startChild(programPath);
  let stderrTail = "";
  child.stdout!.on("data", (chunk: Buffer) => write(chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => {
    stderrTail = (stderrTail + chunk.toString()).slice(-4000);
    write(chunk.toString());
  });

  return new Promise<RunResult>((resolve, reject) => {
    let settled = false;
    const settle = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(watchdog);
      outcome();
    };
    // The child enforces timeoutMs itself; this only catches a child that is stuck hard.
    const watchdog = setTimeout(() => {
      child.kill("SIGKILL");
      settle(() =>
        reject(new EngineError({ kind: "timeout", message: `The engine process did not answer within ${(request.timeoutMs + KILL_GRACE_MS) / 1000}s and was killed.`, resources: [] })),
      );
    }, request.timeoutMs + KILL_GRACE_MS);

    child.on("message", (message: ChildMessage) => {
      if (message.kind === "event") onEvent?.(message.event);
      else if (message.kind === "result") settle(() => resolve(message.result));
      else settle(() => reject(new EngineError(message.error)));
    });
    child.on("error", (err) =>
      settle(() => reject(new EngineError({ kind: "program-error", message: `Could not start the engine process: ${err.message}`, resources: [] }))),
    );
    child.on("exit", (code, signal) =>
      settle(() =>
        reject(
          new EngineError({
            kind: "program-error",
            message: `The engine process exited (${signal ?? `code ${code}`}) without a result.\n${stderrTail}`,
            resources: [],
          }),
        ),
      ),
    );
    child.send({ kind: "run", request: { ...request, programPath } } satisfies ParentMessage);
  });
}

function startChild(programPath: string): ChildProcess {
  // tsx's loader by absolute URL, so the child's cwd need not be inside this repo.
  const tsxLoader = pathToFileURL(path.join(path.dirname(require.resolve("tsx/package.json")), "dist", "loader.mjs")).href;
  // Pulumi runs a program from its project folder; relative paths in programs rely on it.
  const cwd = findProjectDir(path.dirname(programPath)) ?? path.dirname(programPath);
  return spawn(process.execPath, ["--import", tsxLoader, path.join(__dirname, "child.ts")], {
    cwd,
    stdio: ["ignore", "pipe", "pipe", "ipc"],
  });
}
