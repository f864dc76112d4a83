// Entry point of the child process that runProgram() starts for each run: one
// run, then exit, so the SDK's global state and the require cache start fresh.
//
// Protocol (Node IPC): the parent sends {kind: "run", request}; the child sends
// any number of {kind: "event"}, then one {kind: "result"} or {kind: "error"}.

import { runProgramInProcess } from "./run";
import { EngineError, EngineEvent, RunRequest, RunResult, SerializedEngineError } from "./types";

export type ParentMessage = { kind: "run"; request: RunRequest };
export type ChildMessage =
  | { kind: "event"; event: EngineEvent }
  | { kind: "result"; result: RunResult }
  | { kind: "error"; error: SerializedEngineError };

function send(message: ChildMessage): Promise<void> {
  return new Promise((resolve) => process.send!(message, undefined, {}, () => resolve()));
}

function serializeError(err: unknown): SerializedEngineError {
  if (err instanceof EngineError) return err.details;
  const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
  return { kind: "program-error", message: `The engine failed: ${message}`, resources: [] };
}

async function main(request: RunRequest): Promise<void> {
  let outcome: ChildMessage;
  try {
    const result = await runProgramInProcess(request, { onEvent: (event) => void send({ kind: "event", event }) });
    outcome = { kind: "result", result };
  } catch (err) {
    outcome = { kind: "error", error: serializeError(err) };
  }
  await send(outcome);
  // Anything the program left pending (a failed graph never settles) dies with us.
  process.exit(0);
}

if (!process.send) {
  process.stderr.write("tools/engine/child.ts is started by runProgram() with an IPC channel; it cannot run alone.\n");
  process.exit(2);
}
process.once("message", (message: ParentMessage) => void main(message.request));
