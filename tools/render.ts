/**
 * `npm run render -- --stack <name> --out <dir>`: writes every file each host would receive, one
 * folder per host, with placeholder secrets and no cloud credentials — so a reviewer can diff
 * what a configuration change does to each machine.
 */
import * as fs from "fs";
import * as path from "path";
import { loadStackConfig, toRuntimeConfig } from "./engine/stackConfig";
import { parseStackConfig } from "../model/config";
import { hostNames, placeholderSecrets, renderHostBundle } from "../render/bundle";

/**
 * A stack file's config in the engine's form (namespaced keys, objects as JSON text), read the way
 * the engine stand-in reads it; `secure:` entries become placeholders, like every rendered secret.
 */
export function readStackFile(stack: string): Record<string, string> {
    return toRuntimeConfig(loadStackConfig(stack, { securePlaceholders: true }).config);
}

export function renderStack(stack: string, outDir: string): string[] {
    const settings = parseStackConfig(readStackFile(stack), stack);
    const c = settings.cluster;
    const secrets = placeholderSecrets(c);
    const written: string[] = [];
    fs.rmSync(outDir, { recursive: true, force: true });
    for (const host of hostNames(c)) {
        for (const entry of renderHostBundle(c, host, secrets)) {
            const target = path.join(outDir, host, entry.path);
            fs.mkdirSync(path.dirname(target), { recursive: true });
            fs.writeFileSync(target, entry.content, { mode: entry.path.startsWith("steps/") ? 0o755 : 0o644 });
            written.push(path.relative(outDir, target));
        }
    }
    return written;
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
