// The real pgBackRest, systemd and shellcheck check what a backup-enabled cluster's hosts receive:
// stack lab-backup (a repository host) and the same cluster with an S3-compatible store. pgBackRest's
// `help <command>` parses a configuration file as that command would (an option it does not know is a
// warning, a value it cannot read an error), offline; `systemd-analyze` reads the units and the
// schedules. Needs: apt-get install pgbackrest shellcheck (tools/test-prereqs.sh installs them).
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ClusterSpec } from "../model/types";
import { resolveValidCluster } from "../model/validate";
import { renderClusterFiles } from "../render/bundle";
import { placeholderSecrets } from "../render/plan";
import { readStackFile, renderStack, writeRendered } from "../tools/render";
import { listFiles, requireTool, run, withInstalledFiles } from "./helpers/realtools";

let outDir: string;
const trees: Record<string, string> = {};

/** The lab-backup cluster with an S3-compatible store (a key pair) instead of the repository host. */
function s3Spec(): ClusterSpec {
    const spec = JSON.parse(readStackFile("lab-backup")["pulumi-patroni:cluster"]) as ClusterSpec;
    delete spec.hosts.backup;
    spec.backup = { ...spec.backup, repository: { kind: "s3", s3: { bucket: "lab-backups", region: "us-east-1", endpoint: "minio.lab.internal:9000", uriStyle: "path" } } };
    return spec;
}

beforeAll(() => {
    outDir = fs.mkdtempSync(path.join(os.tmpdir(), "pulumi-patroni-backup-"));
    trees["lab-backup"] = path.join(outDir, "lab-backup");
    renderStack("lab-backup", trees["lab-backup"]);
    const c = resolveValidCluster(s3Spec(), "lab");
    trees["lab-s3"] = path.join(outDir, "lab-s3");
    writeRendered(renderClusterFiles(c, { ...placeholderSecrets(c), backupS3Key: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMIexample" } }), trees["lab-s3"]);
});

afterAll(() => {
    if (outDir) fs.rmSync(outDir, { recursive: true, force: true });
});

function rendered(tree: string, pattern: RegExp): Array<[string, string]> {
    const found = listFiles(trees[tree])
        .filter((f) => pattern.test(f))
        .map((f): [string, string] => [`${tree}/${f}`, path.join(trees[tree], f)]);
    expect(found.length, `rendered files of ${tree} matching ${pattern}`).toBeGreaterThan(0);
    return found;
}

/** What each host runs pgBackRest for: the members archive, restore and serve; the repository host backs up, expires, checks and serves. */
const COMMANDS = {
    member: ["archive-push", "archive-get", "restore", "check", "stanza-create", "info", "backup", "expire"],
    repository: ["backup", "expire", "check", "stanza-create", "info"],
    server: ["server", "server-ping"],
};

/** `pgbackrest --config=<file> [--stanza] help <command>`: its status, and every warning or error it printed. */
function pgbackrestHelp(file: string, command: string, stanza: string | null): { status: number | null; complaints: string[]; output: string } {
    const pgbackrest = requireTool("pgbackrest", "pgbackrest");
    const result = run(pgbackrest, [`--config=${file}`, ...(stanza ? [`--stanza=${stanza}`] : []), "help", command]);
    return { status: result.status, complaints: result.output.split("\n").filter((l) => /^(WARN|ERROR):/.test(l)), output: result.output };
}

describe("pgBackRest reads every rendered pgbackrest.conf", () => {
    it.each(["lab-backup", "lab-s3"])("%s: every option is one it knows, every value one it reads, for each command its host runs", (tree) => {
        for (const [label, file] of rendered(tree, /\/etc\/pgbackrest\/pgbackrest\.conf$/)) {
            const repository = label.includes("/backup1/");
            const commands = repository ? COMMANDS.repository : COMMANDS.member;
            for (const command of commands) {
                const r = pgbackrestHelp(file, command, "lab");
                expect(r.complaints, `pgbackrest help ${command} with ${label}`).toEqual([]);
                expect(r.status, `pgbackrest help ${command} with ${label}:\n${r.output}`).toBe(0);
            }
            // The TLS server reads its own options (and no stanza: it serves every stanza of the file).
            if (tree === "lab-backup") {
                for (const command of COMMANDS.server) {
                    const r = pgbackrestHelp(file, command, null);
                    expect([r.status, r.complaints], `pgbackrest help ${command} with ${label}`).toEqual([0, []]);
                }
            }
        }
    }, 60_000);

    it("shows each setting as the command's current value (the options exist for the commands that use them)", () => {
        const [[, member]] = rendered("lab-backup", /^pg1\/etc\/pgbackrest\/pgbackrest\.conf$/);
        const push = pgbackrestHelp(member, "archive-push", "lab").output.replace(/\s+/g, " ");
        for (const current of ["--archive-async [^\\[]*\\[current=true", "--archive-push-queue-max [^\\[]*\\[current=4GiB", "--spool-path [^\\[]*\\[current=/var/spool/pgbackrest", "--repo-host [^\\[]*\\[current=10\\.251\\.17\\.41", "--repo-host-type [^\\[]*\\[current=tls", "--compress-type [^\\[]*\\[current=zst", "--process-max [^\\[]*\\[current=2"]) {
            expect(push).toMatch(new RegExp(current));
        }
        const server = pgbackrestHelp(member, "server", null).output.replace(/\s+/g, " ");
        expect(server).toMatch(/--tls-server-auth [^[]*\[current=backup1=lab\]/);
        const [[, repo]] = rendered("lab-backup", /^backup1\/etc\/pgbackrest\/pgbackrest\.conf$/);
        // One client per line: pgBackRest reads them as a map of client name to stanza.
        expect(pgbackrestHelp(repo, "server", null).output.replace(/\s+/g, " ")).toMatch(/--tls-server-auth [^[]*\[current=pg1=lab, pg2=lab, pg3=lab\]/);
        const backup = pgbackrestHelp(repo, "backup", "lab").output.replace(/\s+/g, " ");
        for (const current of ["--repo-retention-full [^\\[]*\\[current=2\\]", "--repo-retention-diff [^\\[]*\\[current=6\\]", "--start-fast [^\\[]*\\[current=true", "--pg-host [^\\[]*\\[current=10\\.251\\.17\\.21", "--repo-path [^\\[]*\\[current=/var/lib/pgbackrest"]) {
            expect(backup).toMatch(new RegExp(current));
        }
    });

    it("complains about an unknown option and refuses a bad value (so the checks above mean something)", () => {
        const [[, member]] = rendered("lab-backup", /^pg1\/etc\/pgbackrest\/pgbackrest\.conf$/);
        const text = fs.readFileSync(member, "utf8");
        const typo = path.join(outDir, "typo.conf");
        fs.writeFileSync(typo, text.replace("archive-push-queue-max=", "archive-push-queue-maxx="));
        expect(pgbackrestHelp(typo, "archive-push", "lab").complaints).toEqual(["WARN: configuration file contains invalid option 'archive-push-queue-maxx'"]);
        const badValue = path.join(outDir, "bad-value.conf");
        fs.writeFileSync(badValue, text.replace("compress-type=zst", "compress-type=zip"));
        const r = pgbackrestHelp(badValue, "archive-push", "lab");
        expect(r.status).not.toBe(0);
        expect(r.complaints).toEqual(["ERROR: [032]: 'zip' is not allowed for 'compress-type' option"]);
    });
});

describe("systemd reads the backup units", () => {
    /** `systemd-analyze verify` of a host's units (a template unit as its instance), with the backup script in place. */
    function verify(tree: string, host: string): { status: number | null; output: string } {
        const systemdAnalyze = requireTool("systemd-analyze", "systemd");
        const unitDir = path.join(trees[tree], host, "etc/systemd/system");
        const copies = path.join(outDir, `units-${tree}-${host}`);
        fs.mkdirSync(copies, { recursive: true });
        const units: string[] = [];
        for (const name of fs.readdirSync(unitDir).filter((n) => /^(pgbackrest\.service|pgha-backup.*)$/.test(n))) {
            const target = path.join(copies, name.replace("@.service", "@full.service"));
            fs.copyFileSync(path.join(unitDir, name), target);
            units.push(target);
        }
        expect(units.length).toBeGreaterThan(0);
        const script = { path: "/usr/local/sbin/pgha-backup", content: fs.readFileSync(path.join(trees[tree], host, "usr/local/sbin/pgha-backup"), "utf8"), mode: 0o755 };
        return withInstalledFiles([script], () => run(systemdAnalyze, ["verify", ...units]));
    }

    it.each([
        ["lab-backup", "backup1"],
        ["lab-backup", "pg1"],
        ["lab-s3", "pg2"],
    ] as const)("%s %s: systemd-analyze verify has nothing to say", (tree, host) => {
        if (tree === "lab-backup" && host === "pg1") {
            // A member with a repository host runs only the TLS server: no schedule of its own.
            expect(fs.existsSync(path.join(trees[tree], host, "usr/local/sbin/pgha-backup"))).toBe(false);
            const systemdAnalyze = requireTool("systemd-analyze", "systemd");
            const copy = path.join(outDir, "pg1-pgbackrest.service");
            fs.copyFileSync(path.join(trees[tree], host, "etc/systemd/system/pgbackrest.service"), copy);
            expect(run(systemdAnalyze, ["verify", copy])).toEqual({ status: 0, output: "" });
            return;
        }
        expect(verify(tree, host)).toEqual({ status: 0, output: "" });
    });

    it("every schedule is an OnCalendar expression systemd reads", () => {
        const systemdAnalyze = requireTool("systemd-analyze", "systemd");
        const timers = [...rendered("lab-backup", /\/pgha-backup-\w+\.timer$/), ...rendered("lab-s3", /\/pgha-backup-\w+\.timer$/)];
        const expressions = [...new Set(timers.map(([, file]) => /^OnCalendar=(.*)$/m.exec(fs.readFileSync(file, "utf8"))![1]))];
        expect(expressions.sort()).toEqual(["Mon..Sat *-*-* 01:00:00", "Sun *-*-* 01:00:00", "hourly"]);
        const result = run(systemdAnalyze, ["calendar", ...expressions]);
        expect(result.status, result.output).toBe(0);
        expect(run(systemdAnalyze, ["calendar", "Sunday at one"]).status).not.toBe(0);
    });
});

describe("shell", () => {
    it.each(["lab-backup", "lab-s3"])("every step script of %s and the backup script pass bash -n and shellcheck", (tree) => {
        const bash = requireTool("bash", "bash");
        const shellcheck = requireTool("shellcheck", "shellcheck");
        const files = [...rendered(tree, /\.sh$/), ...rendered(tree, /\/usr\/local\/sbin\/pgha-(backup|restore)$/)];
        expect(files.some(([label]) => /steps\/\d\d-(backup-stanza|patroni-stanza)\.sh$/.test(label))).toBe(true);
        for (const [label, file] of files) expect(run(bash, ["-n", file]).status, `bash -n ${label}`).toBe(0);
        const result = run(shellcheck, ["-f", "gcc", ...files.map(([, file]) => file)]);
        expect(result.status, `shellcheck found problems:\n${result.output.split(trees[tree]).join(tree)}`).toBe(0);
    }, 60_000);
});
