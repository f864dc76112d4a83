/**
 * The program (index.ts) of the lab stack as a later `pulumi up` against a stack state kept in
 * `stateFile`, under the engine stand-in with the slow plan-mode mock (test/fixtures/slow-handlers.ts).
 */
import * as path from "path";
import { loadStackConfig, runProgram, type RunResult } from "../../tools/engine";

const PROGRAM = path.resolve(__dirname, "..", "..", "index.ts");
const SLOW_HANDLERS = path.resolve(__dirname, "..", "fixtures", "slow-handlers.ts");

export function upLab(stateFile: string, extraConfig: Record<string, unknown> = {}, delayMs = 0): Promise<RunResult> {
    const { config, secretKeys } = loadStackConfig("lab");
    return runProgram({
        programPath: PROGRAM,
        stack: "lab",
        config: { ...config, ...extraConfig },
        secretKeys,
        mode: "plan",
        stateFile,
        timeoutMs: 120_000,
        handlersModule: SLOW_HANDLERS,
        handlerOptions: { delayMs },
        onProgramOutput: () => undefined,
    });
}
