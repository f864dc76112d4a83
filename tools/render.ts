/**
 * `npm run render -- --stack <name> --out <dir>`: writes every file each host would receive, one
 * folder per host, with placeholder secrets and no cloud credentials — so a reviewer can diff
 * what a configuration change does to each machine.
 */
import * as fs from "fs";
import * as path from "path";
import { loadStackConfig, toRuntimeConfig } from "./engine/stackConfig";
import { parseStackConfig, type ProgramSettings } from "../model/config";
import { STACK_PROVIDERS } from "../providers";
import { placeholderSecrets, renderClusterFiles } from "../render/bundle";

/**
 * A stack file's config in the engine's form (namespaced keys, objects as JSON text), read the way
 * the engine stand-in reads it; `secure:` entries become placeholders, like every rendered secret.
 */
export function readStackFile(stack: string): Record<string, string> {
    return toRuntimeConfig(loadStackConfig(stack, { securePlaceholders: true }).config);
}

/** A stack file's settings, read as the program reads them (with the providers it ships). */
export function readStackSettings(stack: string): ProgramSettings {
    return parseStackConfig(readStackFile(stack), stack, STACK_PROVIDERS);
}

/** Every file `npm run render` writes for a stack, keyed `<host>/<path>`. */
export function renderStackFiles(stack: string): Map<string, string> {
    const settings = readStackSettings(stack);
    const c = settings.cluster;
    // A provider's hosts may mount a data volume first; its id exists only once created.
    const volumes = settings.machines?.provider.offlineDataVolumes?.(c) ?? {};
    return renderClusterFiles(c, placeholderSecrets(c), volumes);
}

/** Writes rendered files (keyed `<host>/<path>`) under `outDir`, replacing what was there; step scripts executable. */
export function writeRendered(files: Map<string, string>, outDir: string): string[] {
    fs.rmSync(outDir, { recursive: true, force: true });
    for (const [key, content] of files) {
        const target = path.join(outDir, key);
        fs.mkdirSync(path.dirname(target), { recursive: true });
        fs.writeFileSync(target, content, { mode: key.includes("/steps/") && key.endsWith(".sh") ? 0o755 : 0o644 });
    }
    return [...files.keys()];
}

export function renderStack(stack: string, outDir: string): string[] {
    return writeRendered(renderStackFiles(stack), outDir);
}

function main(argv: string[]): void {
    const arg = (name: string) => {
        const i = argv.indexOf(name);
        return i >= 0 ? argv[i + 1] : undefined;
    };
    const stack = arg("--stack");
    if (!stack) {
        console.error("usage: npm run render -- --stack <name> [--out <dir>]");
        process.exit(2);
    }
    const out = arg("--out") ?? path.join("out", "render", stack);
    try {
        const written = renderStack(stack, out);
        console.log(`${written.length} files for stack ${stack} in ${out}/`);
    } catch (err) {
        console.error((err as Error).message);
        process.exit(1);
    }
}

if (require.main === module) main(process.argv.slice(2));
