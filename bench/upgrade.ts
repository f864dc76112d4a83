/**
 * `npm run bench:upgrade -- --from <git rev> [--stack lab] [--vip-on first,second] [--out upgrade]`:
 * a release upgrade of a running cluster, as a GitOps pipeline makes one. For each `--vip-on`
 * placement: the lab is brought up with the code of `--from` (a detached worktree of it), the VIP is
 * put on the first or the second balancer, then `lab apply` runs this checkout's code against the
 * stack's state — the writer through VIP:5000 and the VIP's holders sampled meanwhile (bench/day2-lib's
 * applyChange) — and the apply must converge: a `lab preview` after it changes nothing. Writes
 * bench/results/<out>.{json,md}; brings the lab down at the end. Needs root and the lab to itself.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { applyChange, type Day2Result } from "./day2-lib";
import { lab, labChanges, labIn, machines, proxyNodes, sleep, vipHolders, waitFullyHealthy } from "./failover-lib";

const REPO_ROOT = path.resolve(__dirname, "..");

function git(cwd: string, ...args: string[]): string {
    const r = spawnSync("git", args, { cwd, encoding: "utf8" });
    if (r.status !== 0) throw new Error(`git ${args.join(" ")}: ${r.stderr}`);
    return r.stdout.trim();
}

/** The VIP onto the balancer at `index` of the running lab: the holder's Keepalived is stopped until the other took it (nopreempt keeps it there). */
async function putVipOn(index: number): Promise<void> {
    const target = proxyNodes()[index];
    for (let attempt = 0; attempt < 3 && vipHolders()[0] !== target; attempt++) {
        const holder = vipHolders()[0];
        machines("ssh", holder, "systemctl stop keepalived");
        for (let i = 0; i < 40 && !vipHolders().includes(target); i++) await sleep(250);
        machines("ssh", holder, "systemctl start keepalived");
    }
    if (vipHolders().join() !== target) throw new Error(`the VIP is on ${vipHolders().join(", ") || "no balancer"}, not ${target}`);
}

interface UpgradeRun {
    vipOn: string;
    result: Day2Result;
    previewAfter: string[];
}

function markdown(command: string, from: string, to: string, stack: string, runs: UpgradeRun[]): string {
    const lines = [
        `# Upgrade of a running cluster: ${from} → ${to}`,
        "",
        `\`${command}\`, stack \`${stack}\`, ${new Date().toISOString().slice(0, 10)}. The lab brought up with the code of \`${from}\`, then \`lab apply\` with the code of \`${to}\`, a writer inserting through VIP:5000 every ~50 ms (synchronous commit) and the VIP's holders sampled every ~250 ms.`,
        "",
        "| VIP on | apply | steps run | longest write gap | VIP holders at once | writer errors | acknowledged but missing | preview after |",
        "|---|---|---|---|---|---|---|---|",
        ...runs.map(
            (r) =>
                `| ${r.vipOn} | ${r.result.applySec} s | ${r.result.ran.length} | ${r.result.maxGapSec} s | ${r.result.maxVipHolders} | ${r.result.writerErrors} | ${r.result.missing.length} | ${r.previewAfter.length === 0 ? "nothing to change" : r.previewAfter.join(", ")} |`,
        ),
        "",
        ...runs.flatMap((r) => [`Steps run with the VIP on ${r.vipOn}: ${r.result.ran.join(", ") || "none"}.${r.result.error ? ` Error: ${r.result.error}` : ""}`, ""]),
    ];
    return lines.join("\n");
}

async function main(argv: string[]): Promise<void> {
    const arg = (name: string, fallback?: string) => {
        const i = argv.indexOf(name);
        return i >= 0 && argv[i + 1] ? argv[i + 1] : fallback;
    };
    const fromArg = arg("--from");
    if (!fromArg) throw new Error("--from names the release (a git revision) the running cluster was deployed with");
    const stack = arg("--stack", "lab")!;
    const out = arg("--out", "upgrade")!;
    const placements = arg("--vip-on", "first,second")!.split(",");
    for (const p of placements) if (p !== "first" && p !== "second") throw new Error(`--vip-on takes first and/or second; got ${p}`);
    const from = git(REPO_ROOT, "rev-parse", "--short", fromArg);
    const to = git(REPO_ROOT, "rev-parse", "--short", "HEAD") + (git(REPO_ROOT, "status", "--porcelain", "--untracked-files=no") ? " (with uncommitted changes)" : "");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pgha-upgrade-"));
    git(REPO_ROOT, "worktree", "add", "--detach", dir, from);
    fs.symlinkSync(path.join(REPO_ROOT, "node_modules"), path.join(dir, "node_modules"));
    const runs: UpgradeRun[] = [];
    try {
        for (const vipOn of placements) {
            console.error(`== lab up --stack ${stack} with the code of ${from}; the VIP on the ${vipOn} balancer`);
            labIn(dir, "up", "--stack", stack);
            await putVipOn(vipOn === "first" ? 0 : 1);
            await waitFullyHealthy(120);
            console.error(`== lab apply with the code of ${to}`);
            const result = await applyChange(stack, { name: `upgrade ${from} → ${to}`, kind: "upgrade", config: {}, verify: async () => void (await waitFullyHealthy(120)) });
            // What a preview would still run: nothing, once the apply converged.
            const previewAfter = labChanges("preview");
            runs.push({ vipOn: vipOn === "first" ? proxyNodes()[0] : proxyNodes()[1], result, previewAfter });
            console.error(`   apply ${result.applySec} s, gap ${result.maxGapSec} s, VIP holders ${result.maxVipHolders}, missing ${result.missing.length}, preview after: ${previewAfter.length} changes${result.error ? `, error: ${result.error}` : ""}`);
        }
    } finally {
        git(REPO_ROOT, "worktree", "remove", "--force", dir);
    }
    lab("down");
    const command = `npm run bench:upgrade -- ${argv.join(" ")}`;
    fs.mkdirSync(path.join(REPO_ROOT, "bench", "results"), { recursive: true });
    fs.writeFileSync(path.join(REPO_ROOT, "bench", "results", `${out}.json`), JSON.stringify({ command, measuredAt: new Date().toISOString(), from, to, stack, runs }, null, 1) + "\n");
    const md = markdown(command, from, to, stack, runs);
    fs.writeFileSync(path.join(REPO_ROOT, "bench", "results", `${out}.md`), md);
    console.log(md);
    if (runs.some((r) => r.result.error || r.result.missing.length > 0 || r.previewAfter.length > 0)) process.exit(1);
}

main(process.argv.slice(2)).catch((err) => {
    console.error(err);
    process.exit(1);
});
