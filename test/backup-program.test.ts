// The program (index.ts) with backups, under the engine stand-in: stack lab-backup's commands are its
// plan's steps (script, standard input, delete command and waits), its components and their children
// are named and parented as the others', the order behind the gates holds under a slow mock, an
// object store's access key stays secret, and turning backups on for the running lab runs only what
// backups add.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { beforeAll, describe, expect, it } from "vitest";
import { parseStackConfig } from "../model/config";
import type { ClusterSecrets } from "../model/types";
import { STACK_PROVIDERS } from "../providers";
import { clusterPlan, stepText } from "../render/plan";
import { loadStackConfig, stepReports, type RunResult } from "../tools/engine";
import { expectStepOrder, planStack, resourceNamed, stepResourceName, upLab, upstreamOf } from "./helpers/stack";

const PG = ["pg1", "pg2", "pg3"];

const get = resourceNamed;

describe("stack lab-backup under a slow mock", () => {
    let run: RunResult;
    beforeAll(async () => {
        run = await planStack("lab-backup", {}, [], 40);
    }, 180_000);
    const expectOrder = (before: string[], after: string[]) => expectStepOrder(run.resources, before, after);

    it("names the repository's component and children as the others', and the gate and schedule are the cluster's own steps", () => {
        const parentOf = (n: string) => get(run.resources, n).parent;
        expect(get(run.resources, "lab-backup").type).toBe("pulumi-patroni:index:BackupRepository");
        expect(parentOf("lab-backup")).toBe("lab");
        for (const step of ["ready", "install", "tls-ca", "tls-cert", "tls-key", "pgbackrest-conf", "pgbackrest-service", "schedule-script", "schedule-service", "schedule-timer-full", "schedule-timer-diff", "schedule-timer-incr", "server"]) {
            expect(parentOf(`lab-backup-${step}-backup1`), step).toBe("lab-backup");
        }
        expect(parentOf("lab-backup-stanza")).toBe("lab");
        expect(parentOf("lab-backup-timers-backup1")).toBe("lab");
        for (const h of PG) for (const step of ["pgbackrest-conf", "pgbackrest-service", "pgbackrest-server"]) expect(parentOf(`lab-patroni-${step}-${h}`)).toBe("lab-patroni");
        // The repository host has a certificate of the cluster's CA like every other host.
        expect(get(run.resources, "lab-tls-backup1-cert").type).toBe("tls:index/locallySignedCert:LocallySignedCert");
    });

    it("starts the repository's server before any member, the members' servers and the DCS settings before the stanza gate, the schedule after it", () => {
        expectOrder(["lab-backup-server-backup1"], PG.map((h) => `lab-patroni-start-${h}`));
        expectOrder(["lab-etcd-health"], ["lab-backup-pgbackrest-conf-backup1", "lab-backup-tls-key-backup1"]);
        expectOrder(["lab-patroni-dcs-config", "lab-patroni-replicas", ...PG.map((h) => `lab-patroni-pgbackrest-server-${h}`)], ["lab-backup-stanza"]);
        expectOrder(["lab-backup-stanza"], ["lab-backup-timers-backup1"]);
        // The install waits for no other host's.
        expect(get(run.resources, "lab-backup-install-backup1").waitsFor.filter((n) => /-install-/.test(n))).toEqual([]);
    });

    it("exports the repository's location, and the repository host among the nodes", () => {
        expect(run.outputs.backupRepository).toBe("backup1:/var/lib/pgbackrest (pgBackRest's TLS server at 10.251.17.41:8432, stanza lab)");
        const nodes = run.outputs.nodes as Array<{ name: string; roles: string[] }>;
        expect(nodes.find((n) => n.name === "backup1")).toEqual({ name: "backup1", address: "10.251.17.41", roles: ["backup"] });
    });
});

describe("what the hosts get is the plan, with backups", () => {
    it("every command of stack lab-backup is one plan step: same script, standard input, delete command and waits", async () => {
        const run = await planStack("lab-backup", {}, [], 0);
        const secrets: ClusterSecrets = { superuserPassword: "", replicationPassword: "", rewindPassword: "", adminPassword: "", restApiPassword: "", userPasswords: {}, scramSalts: {} };
        const out = (name: string, key = "result") => String(get(run.resources, name).outputs[key]);
        Object.assign(secrets, {
            superuserPassword: out("lab-superuser-password"),
            replicationPassword: out("lab-replication-password"),
            rewindPassword: out("lab-rewind-password"),
            adminPassword: out("lab-admin-password"),
            restApiPassword: out("lab-restapi-password"),
            userPasswords: { app: out("lab-user-app-password") },
        });
        for (const r of run.resources.filter((x) => x.type === "random:index/randomId:RandomId")) secrets.scramSalts[r.name.replace(/^lab-|-scram-salt$/g, "")] = String(r.outputs.b64Std);
        // Every host that serves TLS, the repository host among them; a balancer only verifies (no certificate).
        expect(run.resources.some((r) => r.name === "lab-tls-lb1-cert")).toBe(false);
        const hosts = ["etcd1", "etcd2", "etcd3", ...PG, "backup1"];
        secrets.tls = { caCert: out("lab-tls-ca", "certPem"), hosts: Object.fromEntries(hosts.map((h) => [h, { cert: out(`lab-tls-${h}-cert`, "certPem"), key: out(`lab-tls-${h}-key`, "privateKeyPem") }])) };
        const c = parseStackConfig(loadStackConfig("lab-backup").config as Record<string, string>, "lab", STACK_PROVIDERS).cluster;
        const plan = clusterPlan(c);
        const resourceName = stepResourceName(plan, "lab");
        const commands = run.resources.filter((r) => r.type === "command:remote:Command");
        expect(commands.map((r) => r.name).sort()).toEqual(plan.map((s) => resourceName(s.key)).sort());
        const upstream = (name: string) => upstreamOf(run.resources, name);
        for (const step of plan) {
            const r = get(run.resources, resourceName(step.key));
            const create = String(r.inputs.create).replace(/# Checks steps at revision [0-9a-f]{64}: it runs again when any of them does\.\n$/, "");
            expect(create, `${r.name}: script`).toBe(stepText(step.script, secrets, ""));
            expect(r.inputs.stdin, `${r.name}: stdin`).toBe(step.stdin === undefined ? undefined : stepText(step.stdin, secrets, ""));
            expect(r.inputs.delete, `${r.name}: delete`).toBe(step.onDelete);
            // A step of another component is waited for through what stands for that component (after it).
            const waits = [...step.dependsOn, ...step.after].map(resourceName);
            expect([...upstream(r.name)], `${r.name}: waits for`).toEqual(expect.arrayContaining([...new Set(waits)]));
        }
    }, 180_000);
});

describe("an object store's access key", () => {
    it("reaches the members only on standard input, secret, and no command line", async () => {
        const { config } = loadStackConfig("lab-backup");
        const cluster = JSON.parse(JSON.stringify(config["pulumi-patroni:cluster"]));
        delete cluster.hosts.backup;
        cluster.backup = { enabled: true, repository: { kind: "s3", s3: { bucket: "lab-backups", region: "us-east-1", endpoint: "10.251.17.60:9000", uriStyle: "path" } } };
        const keys = { "pulumi-patroni:backupS3AccessKeyId": "Key-Id-Secret-1", "pulumi-patroni:backupS3SecretAccessKey": "Access-Key-Secret-2" };
        const run = await planStack("lab-backup", { "pulumi-patroni:cluster": cluster, ...keys }, Object.keys(keys), 0);
        for (const h of PG) {
            const conf = get(run.resources, `lab-patroni-pgbackrest-conf-${h}`);
            expect(conf.secretInputPaths.map((p) => p.join("."))).toContain("stdin");
            expect(String(conf.inputs.stdin)).toContain("repo1-s3-key=Key-Id-Secret-1\nrepo1-s3-key-secret=Access-Key-Secret-2\n");
        }
        for (const r of run.resources.filter((x) => x.type === "command:remote:Command")) {
            const secretPaths = r.secretInputPaths.map((p) => p[0]);
            for (const [field, value] of Object.entries(r.inputs)) {
                if (secretPaths.includes(field)) continue;
                for (const s of Object.values(keys)) expect(JSON.stringify(value).includes(s), `${r.name}.${field} holds the key in the clear`).toBe(false);
            }
        }
        expect(run.resources.some((r) => r.name === "lab-backup")).toBe(false);
    }, 180_000);
});

describe("turning backups on for the running lab", () => {
    it("adds the repository host and pgBackRest on the members, rewrites patroni.yml (reload) and archive_command (DCS), and restarts nothing else", async () => {
        const stateFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "backup-state-")), "lab.json");
        await upLab(stateFile);
        const { config } = loadStackConfig("lab-backup");
        const changed = await upLab(stateFile, { "pulumi-patroni:cluster": config["pulumi-patroni:cluster"] });
        const ops = stepReports(changed).filter((s) => s.op !== "same");
        const names = (op: string) => ops.filter((s) => s.op === op).map((s) => s.name).sort();
        // Every step of the repository host (its TLS guard too, an etcd step) and of pgBackRest on the members is new.
        expect(names("create")).toEqual(
            expect.arrayContaining(["lab-etcd-tls-guard-backup-backup1", "lab-backup-server-backup1", "lab-backup-stanza", "lab-backup-timers-backup1", ...PG.map((h) => `lab-patroni-pgbackrest-server-${h}`)]),
        );
        expect(names("create").every((n) => /^lab-(backup|tls-backup1|etcd-tls-guard-backup-backup1$|patroni-pgbackrest-|patroni-restore-script-)/.test(n)), names("create").join(", ")).toBe(true);
        // Updated: the members' install (pgBackRest), patroni.yml and their reload, the DCS settings (archive_command) and the gates after them.
        expect(names("update")).toEqual(
            [
                ...PG.flatMap((h) => [`lab-patroni-install-${h}`, `lab-patroni-patroni-yml-${h}`, `lab-patroni-reload-${h}`]),
                "lab-patroni-dcs-config",
                "lab-patroni-handover",
                "lab-patroni-replicas",
                "lab-proxy-vip",
            ].sort(),
        );
        expect(String(get(changed.resources, "lab-patroni-dcs-config").inputs.create)).toContain('"archive_command":"/usr/bin/pgbackrest --stanza=lab archive-push %p"');
        // No member, etcd member or balancer is started again, nothing is replaced or deleted.
        expect(names("replace")).toEqual([]);
        expect(names("delete")).toEqual([]);
    }, 240_000);
});

describe("backup.restore from the stack, as later `pulumi up`s", () => {
    it("runs the restore once, after everything else; left in the stack it runs nothing, not even when a host's connection changes; another id runs it again; removed, nothing runs", async () => {
        const stateFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "restore-state-")), "lab.json");
        const { config } = loadStackConfig("lab-backup");
        const cluster = config["pulumi-patroni:cluster"] as Record<string, unknown>;
        const withRestore = (restore: Record<string, string> | undefined) => {
            const copy = JSON.parse(JSON.stringify(cluster));
            if (restore) copy.backup.restore = restore;
            return { "pulumi-patroni:cluster": copy };
        };
        await upLab(stateFile, withRestore(undefined));
        const restoreSteps = (run: RunResult) => stepReports(run).filter((s) => /^lab-restore-[0-9a-f]{8}-/.test(s.name));
        const opsOf = (run: RunResult) => stepReports(run).filter((s) => s.op !== "same");

        const first = await upLab(stateFile, withRestore({ to: "2026-11-24 14:00:00+00", id: "drill-1" }), 5);
        const created = restoreSteps(first).map((s) => s.name);
        const run1 = /^lab-restore-[0-9a-f]{8}-/.exec(created[0])![0];
        expect(created.map((n) => n.slice(run1.length)).sort()).toEqual(["archive-pg2", "archive-pg3", "pause", "stop-pg1", "stop-pg2", "stop-pg3", "clear-dcs", "restore", "backup", "reclone-pg2", "reclone-pg3"].sort());
        // Only the restore's steps run, each created.
        expect(opsOf(first).map((s) => `${s.op} ${s.name}`).sort()).toEqual(created.map((n) => `create ${n}`).sort());
        // After every other step, in the procedure's order.
        const at = (name: string) => get(first.resources, name);
        for (const n of created) for (const o of ["lab-roles", "lab-backup-timers-backup1"]) expect(at(n).startedAt, `${n} after ${o}`).toBeGreaterThanOrEqual(at(o).finishedAt!);
        const order = ["archive-pg2", "pause", "stop-pg1", "clear-dcs", "restore", "backup", "reclone-pg3"];
        for (let i = 1; i < order.length; i++) expect(at(run1 + order[i]).startedAt, order[i]).toBeGreaterThanOrEqual(at(run1 + order[i - 1]).finishedAt!);
        expect(String(at(`${run1}restore`).inputs.create)).toBe("/usr/local/sbin/pgha-restore restore '2026-11-24 14:00:00+00'\n");

        // Left in the stack file: nothing runs.
        const again = await upLab(stateFile, withRestore({ to: "2026-11-24 14:00:00+00", id: "drill-1" }));
        expect(opsOf(again)).toEqual([]);

        // Every host reached another way (another SSH user): every other step runs again, no restore step does.
        const ssh = config["pulumi-patroni:ssh"] as Record<string, unknown>;
        const moved = await upLab(stateFile, { ...withRestore({ to: "2026-11-24 14:00:00+00", id: "drill-1" }), "pulumi-patroni:ssh": { ...ssh, user: "admin" } });
        expect(restoreSteps(moved).map((s) => s.op)).toEqual(created.map(() => "same"));
        expect(opsOf(moved).filter((s) => s.op === "update").length).toBeGreaterThan(50);

        // Another id: another run, whose steps are created; the old ones leave the state (they have no delete command).
        const second = await upLab(stateFile, withRestore({ to: "latest", id: "drill-2" }));
        const run2 = /^lab-restore-[0-9a-f]{8}-/.exec(restoreSteps(second).find((s) => s.op === "create")!.name)![0];
        expect(run2).not.toBe(run1);
        expect(restoreSteps(second).filter((s) => s.op === "create").map((s) => s.name.slice(run2.length)).sort()).toEqual(created.map((n) => n.slice(run1.length)).sort());
        expect(restoreSteps(second).filter((s) => s.op === "delete").map((s) => s.name).sort()).toEqual([...created].sort());
        for (const n of created) expect(get(second.deleted, n).inputs.delete, n).toBeUndefined();

        // Removed from the stack: its steps leave the state, nothing runs.
        const removed = await upLab(stateFile, withRestore(undefined));
        expect(opsOf(removed).every((s) => s.op === "delete" && s.name.startsWith(run2)), opsOf(removed).map((s) => `${s.op} ${s.name}`).join(", ")).toBe(true);
    }, 300_000);
});
