// Backups with pgBackRest (issue 16), offline: the `backup` settings (defaults, and every bad input
// named with its setting, value, rule and fix), what the members and the repository host get, and
// where the plan puts each step. The real pgBackRest checks the rendered files in realtools-backup.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { archiveCommand, backupKeyIssues, resolveBackup, restoreTargetMs } from "../model/backup";
import { parseStackConfig } from "../model/config";
import { resolveCluster } from "../model/resolve";
import type { ClusterSpec, HostSpec } from "../model/types";
import { CLUSTER_SCHEMA, formatIssue, resolveValidCluster, validateCluster, type Schema, type ValidationIssue } from "../model/validate";
import { STACK_PROVIDERS } from "../providers";
import { placeholderSecrets, renderClusterFiles } from "../render/bundle";
import { GATE_TIMEOUTS_SEC } from "../render/files";
import { dcsConfig } from "../render/patroni";
import { clusterPlan, stepText, type PlanStep } from "../render/plan";
import { readStackFile, readStackSettings } from "../tools/render";

const host = (name: string, address: string): HostSpec => ({ name, address });

/** The lab's shape in 10.0.0.0/24 with backups on a repository host (Debian 13: pgBackRest 2.55). */
function backupSpec(mutate: (spec: ClusterSpec) => void = () => undefined): ClusterSpec {
    const spec: ClusterSpec = {
        scope: "orders",
        hosts: {
            etcd: [host("etcd1", "10.0.0.11"), host("etcd2", "10.0.0.12"), host("etcd3", "10.0.0.13")],
            patroni: [host("pg1", "10.0.0.21"), host("pg2", "10.0.0.22"), host("pg3", "10.0.0.23")],
            haproxy: [host("lb1", "10.0.0.31"), host("lb2", "10.0.0.32")],
            backup: [host("backup1", "10.0.0.41")],
        },
        keepalived: { vip: "10.0.0.50" },
        backup: { enabled: true },
    };
    mutate(spec);
    return spec;
}

/** The same cluster with an S3-compatible store (a self-hosted one, by address). */
function s3Spec(mutate: (spec: ClusterSpec) => void = () => undefined): ClusterSpec {
    return backupSpec((spec) => {
        delete spec.hosts.backup;
        spec.backup = { enabled: true, repository: { kind: "s3", s3: { bucket: "orders-backups", region: "us-east-1", endpoint: "10.0.0.60:9000", uriStyle: "path" } } };
        mutate(spec);
    });
}

function issuesOf(spec: unknown): ValidationIssue[] {
    return validateCluster(spec, "test", "cluster");
}

/** The one issue at `setting`; its message names the setting, the value received and the fix. */
function expectIssue(spec: unknown, setting: string, expected: { value: unknown; rule: RegExp; fix: RegExp }): void {
    const issues = issuesOf(spec);
    const matching = issues.filter((i) => i.setting === setting);
    expect(matching, `an issue for ${setting} among: ${issues.map(formatIssue).join(" | ") || "(none)"}`).toHaveLength(1);
    const message = formatIssue(matching[0]);
    expect(message).toContain(`${setting}: `);
    expect(message).toContain(`(got ${JSON.stringify(expected.value)})`);
    expect(matching[0].rule).toMatch(expected.rule);
    expect(matching[0].fix).toMatch(expected.fix);
}

describe("the backup settings", () => {
    it("are off by default, and a cluster without them renders as before (archive_mode on, a no-op archive command)", () => {
        const c = resolveCluster({ hosts: backupSpec().hosts, keepalived: { vip: "10.0.0.50" } } as ClusterSpec, "orders");
        expect(c.backup.enabled).toBe(false);
        expect(c.patroni.parameters.archive_mode).toBe("on");
        expect(c.patroni.parameters.archive_command).toBe("/bin/true");
    });

    it("have their defaults applied once", () => {
        expect(resolveBackup(backupSpec())).toEqual({
            enabled: true,
            repository: { kind: "host", path: "/var/lib/pgbackrest", port: 8432, s3: undefined },
            retention: { full: 2, diff: undefined },
            schedule: { full: "Sun *-*-* 01:00:00", diff: "Mon..Sat *-*-* 01:00:00", incr: undefined },
            archiveAsync: true,
            spoolPath: "/var/spool/pgbackrest",
            archivePushQueueMax: "4GiB",
            compressType: "zst",
            processMax: 2,
            fromStandby: false,
        });
        expect(resolveBackup(s3Spec()).repository).toEqual({
            kind: "s3",
            path: "/pgbackrest",
            port: 8432,
            s3: { bucket: "orders-backups", region: "us-east-1", endpoint: "10.0.0.60:9000", uriStyle: "path", keyType: "shared", verifyTls: true },
        });
        // A schedule set to off is none at all.
        expect(resolveBackup(backupSpec((s) => (s.backup!.schedule = { diff: "off", incr: "hourly" }))).schedule).toEqual({ full: "Sun *-*-* 01:00:00", diff: undefined, incr: "hourly" });
    });

    it("set archive_command to pgBackRest's archive-push through the DCS parameters (a reload on a running cluster)", () => {
        const c = resolveValidCluster(backupSpec(), "orders");
        expect(c.patroni.parameters.archive_command).toBe("/usr/bin/pgbackrest --stanza=orders archive-push %p");
        expect(c.patroni.parameters.archive_command).toBe(archiveCommand("orders"));
        expect(c.patroni.parameters.archive_mode).toBe("on");
        // A segment with writes in it is archived within a minute (the archive's RPO), unless the stack says otherwise.
        expect(c.patroni.parameters.archive_timeout).toBe("60s");
        expect(resolveValidCluster(backupSpec((s) => (s.patroni = { parameters: { archive_timeout: "5min" } })), "orders").patroni.parameters.archive_timeout).toBe("5min");
        expect(resolveValidCluster(backupSpec((s) => { s.backup = undefined; s.hosts.backup = undefined; }), "orders").patroni.parameters.archive_timeout).toBeUndefined();
    });

    it("accept the lab-backup stack and a store of one's own", () => {
        expect(issuesOf(backupSpec())).toEqual([]);
        expect(issuesOf(s3Spec())).toEqual([]);
        expect(readStackSettings("lab-backup").cluster.hosts.backup.map((h) => h.name)).toEqual(["backup1"]);
    });

    it("every resolved backup setting can be written in config, and nothing else", () => {
        type Fields = { readonly [key: string]: Schema };
        const fieldsOf = (schema: Schema): string[] => Object.keys(schema as Fields).map((k) => k.replace(/\?$/, "")).sort();
        const schema = (CLUSTER_SCHEMA as Fields)["backup?"] as Fields;
        const resolved = resolveBackup(s3Spec()) as unknown as Record<string, Record<string, unknown>>;
        expect(fieldsOf(schema)).toEqual(Object.keys(resolved).sort());
        for (const section of ["repository", "retention", "schedule"]) expect(fieldsOf(schema[`${section}?`]), section).toEqual(Object.keys(resolved[section]).sort());
        expect(fieldsOf((schema["repository?"] as Fields)["s3?"])).toEqual(Object.keys(resolved.repository.s3 as object).sort());
        expect(fieldsOf((CLUSTER_SCHEMA as Fields).hosts)).toContain("backup");
    });
});

describe("bad backup settings are refused before anything is created, naming the setting, the value and the fix", () => {
    it.each<[string, ClusterSpec, string, { value: unknown; rule: RegExp; fix: RegExp }]>([
        ["a repository host without backups", backupSpec((s) => (s.backup = undefined)), "cluster.hosts.backup", { value: ["backup1"], rule: /without cluster\.backup\.enabled/, fix: /set cluster\.backup\.enabled: true, or remove cluster\.hosts\.backup/ }],
        ["kind host without its host", backupSpec((s) => delete s.hosts.backup), "cluster.hosts.backup", { value: [], rule: /exactly one repository host/, fix: /list one host under cluster\.hosts\.backup/ }],
        ["two repository hosts", backupSpec((s) => s.hosts.backup!.push(host("backup2", "10.0.0.42"))), "cluster.hosts.backup", { value: ["backup1", "backup2"], rule: /exactly one/, fix: /list one host/ }],
        ["the repository on a member", backupSpec((s) => (s.hosts.backup = [host("pg3", "10.0.0.23")])), "cluster.hosts.backup", { value: "pg3", rule: /also a Patroni member/, fix: /a machine of its own/ }],
        ["kind host without TLS", backupSpec((s) => (s.tls = { enabled: false })), "cluster.backup.repository.kind", { value: "host", rule: /needs cluster\.tls\.enabled/, fix: /set cluster\.tls\.enabled: true, or use cluster\.backup\.repository\.kind: s3/ }],
        ["kind host on Debian 12 (pgBackRest 2.45 verifies no address)", backupSpec((s) => (s.os = "debian12")), "cluster.backup.repository.kind", { value: "host", rule: /pgBackRest 2\.53 or newer .* debian12's own is 2\.45/, fix: /packageSource: pgdg/ }],
        ["an object store's settings with kind host", backupSpec((s) => (s.backup!.repository = { s3: { bucket: "b-1", region: "r", endpoint: "e" } })), "cluster.backup.repository.s3", { value: { bucket: "b-1", region: "r", endpoint: "e" }, rule: /no use with repository kind host/, fix: /kind: s3/ }],
        ["a port out of range", backupSpec((s) => (s.backup!.repository = { port: 70000 })), "cluster.backup.repository.port", { value: 70000, rule: /between 1 and 65535/, fix: /8432/ }],
        ["the server on PostgreSQL's port", backupSpec((s) => (s.backup!.repository = { port: 5432 })), "cluster.backup.repository.port", { value: 5432, rule: /also used by cluster\.patroni\.postgresPort/, fix: /a port of its own/ }],
        ["kind s3 without its store", backupSpec((s) => { delete s.hosts.backup; s.backup!.repository = { kind: "s3" }; }), "cluster.backup.repository.s3", { value: undefined, rule: /required with repository kind s3/, fix: /bucket, region and endpoint/ }],
        ["a repository host with kind s3", s3Spec((s) => (s.hosts.backup = [host("backup1", "10.0.0.41")])), "cluster.hosts.backup", { value: ["backup1"], rule: /no use with cluster\.backup\.repository\.kind s3/, fix: /set cluster\.backup\.repository\.kind: host/ }],
        ["a bad bucket name", s3Spec((s) => (s.backup!.repository!.s3!.bucket = "Orders_Backups")), "cluster.backup.repository.s3.bucket", { value: "Orders_Backups", rule: /not a bucket name/, fix: /"orders-backups"/ }],
        ["an endpoint with a scheme", s3Spec((s) => (s.backup!.repository!.s3!.endpoint = "https://minio:9000")), "cluster.backup.repository.s3.endpoint", { value: "https://minio:9000", rule: /without a scheme or path/, fix: /minio\.internal:9000/ }],
        ["host-style URIs for an endpoint by address", s3Spec((s) => (s.backup!.repository!.s3!.uriStyle = "host")), "cluster.backup.repository.s3.uriStyle", { value: "host", rule: /cannot have/, fix: /uriStyle: path/ }],
        ["a port with kind s3", s3Spec((s) => (s.backup!.repository!.port = 8432)), "cluster.backup.repository.port", { value: 8432, rule: /no pgBackRest server runs/, fix: /kind: host/ }],
        ["backups from a standby with kind s3", s3Spec((s) => (s.backup!.fromStandby = true)), "cluster.backup.fromStandby", { value: true, rule: /needs repository kind host/, fix: /remove it/ }],
        ["a relative repository path", backupSpec((s) => (s.backup!.repository = { path: "backups" })), "cluster.backup.repository.path", { value: "backups", rule: /absolute path/, fix: /\/var\/lib\/pgbackrest/ }],
        ["a spool path with a space", backupSpec((s) => (s.backup!.spoolPath = "/var/spool/pg backrest")), "cluster.backup.spoolPath", { value: "/var/spool/pg backrest", rule: /absolute path/, fix: /\/var\/spool\/pgbackrest/ }],
        ["a queue size pgBackRest cannot read", backupSpec((s) => (s.backup!.archivePushQueueMax = "4 gigs")), "cluster.backup.archivePushQueueMax", { value: "4 gigs", rule: /not a size/, fix: /4GiB/ }],
        ["no full backup kept", backupSpec((s) => (s.backup!.retention = { full: 0 })), "cluster.backup.retention.full", { value: 0, rule: /between 1 and 9999999/, fix: /keep at least one/ }],
        ["no differential backup kept", backupSpec((s) => (s.backup!.retention = { diff: 0 })), "cluster.backup.retention.diff", { value: 0, rule: /between 1 and 9999999/, fix: /remove cluster\.backup\.retention\.diff/ }],
        ["no process", backupSpec((s) => (s.backup!.processMax = 0)), "cluster.backup.processMax", { value: 0, rule: /between 1 and 999/, fix: /e\.g\. 2/ }],
        ["full backups off", backupSpec((s) => (s.backup!.schedule = { full: "off" })), "cluster.backup.schedule.full", { value: "off", rule: /cannot be off/, fix: /OnCalendar/ }],
        ["a schedule that would end the unit's line", backupSpec((s) => (s.backup!.schedule = { diff: "daily\nExecStart=/bin/sh" })), "cluster.backup.schedule.diff", { value: "daily\nExecStart=/bin/sh", rule: /not a systemd OnCalendar expression/, fix: /"off" for none/ }],
        ["another superuser name", backupSpec((s) => (s.patroni = { superuserName: "dba" })), "cluster.patroni.superuserName", { value: "dba", rule: /peer authentication/, fix: /remove cluster\.patroni\.superuserName/ }],
        ["an archive command of one's own", backupSpec((s) => (s.patroni = { parameters: { archive_command: "cp %p /mnt/%f" } })), "cluster.patroni.parameters.archive_command", { value: "cp %p /mnt/%f", rule: /set by cluster\.backup\.enabled/, fix: /remove it/ }],
        ["a restore without backups", backupSpec((s) => { delete s.hosts.backup; s.backup = { restore: { to: "latest", id: "drill-1" } }; }), "cluster.backup.restore", { value: { to: "latest", id: "drill-1", member: "pg1" }, rule: /needs cluster\.backup\.enabled/, fix: /set cluster\.backup\.enabled: true, or remove cluster\.backup\.restore/ }],
        ["a restore target in ISO 8601 (pgBackRest refuses it)", backupSpec((s) => (s.backup!.restore = { to: "2026-11-24T14:00:00Z", id: "drill-1" })), "cluster.backup.restore.to", { value: "2026-11-24T14:00:00Z", rule: /not a time pgBackRest reads with its zone, nor latest/, fix: /"2026-11-24 14:00:00\+00" \(UTC\), or latest/ }],
        ["a restore target later than now", backupSpec((s) => (s.backup!.restore = { to: "2999-01-01 00:00:00+00", id: "drill-1" })), "cluster.backup.restore.to", { value: "2999-01-01 00:00:00+00", rule: /later than now .*PostgreSQL refuses to end a recovery short of its target/, fix: /a time in the past, or latest/ }],
        ["a restore target without a zone", backupSpec((s) => (s.backup!.restore = { to: "2026-11-24 14:00:00", id: "drill-1" })), "cluster.backup.restore.to", { value: "2026-11-24 14:00:00", rule: /with its zone/, fix: /with a zone/ }],
        ["a restore id with a space", backupSpec((s) => (s.backup!.restore = { to: "latest", id: "orders drop" })), "cluster.backup.restore.id", { value: "orders drop", rule: /letters, digits/, fix: /"2026-11-24-orders-drop"/ }],
        ["a restore of a host that is no member", backupSpec((s) => (s.backup!.restore = { to: "latest", id: "drill-1", member: "backup1" })), "cluster.backup.restore.member", { value: "backup1", rule: /names no Patroni host/, fix: /name one of pg1, pg2, pg3/ }],
        ["a standby copy with one member", backupSpec((s) => { s.hosts.patroni = s.hosts.patroni.slice(0, 1); s.patroni = { synchronousMode: false }; s.backup!.fromStandby = true; }), "cluster.backup.fromStandby", { value: true, rule: /needs a standby/, fix: /add Patroni hosts/ }],
    ])("%s", (_, spec, setting, expected) => expectIssue(spec, setting, expected));

    it("an unknown backup setting gets the closest known one", () => {
        const issues = issuesOf(backupSpec((s) => ((s.backup as Record<string, unknown>).retension = { full: 2 })));
        expect(issues.map(formatIssue)).toEqual([expect.stringContaining("cluster.backup.retension: is not a known setting (got {\"full\":2}). Fix: did you mean cluster.backup.retention?")]);
    });

    it("the object store's key pair: required with keyType shared, refused when unused, in the stack and in the library", () => {
        const stack = (extra: Record<string, string>, spec: ClusterSpec) =>
            parseStackConfig({ "pulumi-patroni:ssh": JSON.stringify({ privateKeyFile: "/k" }), "pulumi-patroni:cluster": JSON.stringify(spec), ...extra }, "orders", STACK_PROVIDERS);
        expect(() => stack({}, s3Spec())).toThrow(/pulumi-patroni:backupS3AccessKeyId: is required with backup\.repository\.s3\.keyType shared .*Fix: pulumi config set --secret pulumi-patroni:backupS3AccessKeyId <value>, or set backup\.repository\.s3\.keyType: auto/s);
        const keys = { "pulumi-patroni:backupS3AccessKeyId": "AKID", "pulumi-patroni:backupS3SecretAccessKey": "SECRET" };
        expect(stack(keys, s3Spec()).suppliedSecrets).toEqual({ backupS3AccessKeyId: "AKID", backupS3SecretAccessKey: "SECRET" });
        expect(() => stack(keys, backupSpec())).toThrow(/pulumi-patroni:backupS3AccessKeyId: is only used with backup\.enabled and backup\.repository\.s3\.keyType shared \(got "\(not shown\)"\)\. Fix: remove it/);
        // keyType auto (an instance role) wants none.
        const auto = resolveValidCluster(s3Spec((s) => (s.backup!.repository!.s3!.keyType = "auto")), "orders");
        expect(backupKeyIssues(auto, () => false, (k) => k, () => "")).toEqual([]);
    });
});

const byKey = (plan: PlanStep[]) => new Map(plan.map((s) => [s.key, s]));

/** Every key `key` waits for, directly or through the steps it waits for (dependsOn and after). */
function upstreamOf(plan: PlanStep[], key: string): Set<string> {
    const steps = byKey(plan);
    const seen = new Set<string>();
    const visit = (k: string) => {
        for (const d of [...steps.get(k)!.dependsOn, ...steps.get(k)!.after]) {
            if (!seen.has(d)) {
                seen.add(d);
                visit(d);
            }
        }
    };
    visit(key);
    return seen;
}

describe("the plan with a repository host", () => {
    const c = resolveValidCluster(backupSpec(), "orders");
    const plan = clusterPlan(c);
    const steps = byKey(plan);
    const step = (key: string) => {
        const s = steps.get(key);
        if (!s) throw new Error(`no step ${key}; have ${[...steps.keys()].join(", ")}`);
        return s;
    };

    it("has the repository host's steps, each member's server and the cluster's gate and schedule", () => {
        expect(plan.filter((s) => s.host === "backup1").map((s) => s.key)).toEqual([
            // Its TLS guard: an etcd step, like every host's (render/plan.ts tlsGate).
            "etcd/tls-guard-backup-backup1",
            "backup/ready-backup1",
            "backup/install-backup1",
            "backup/tls-ca-backup1",
            "backup/tls-cert-backup1",
            "backup/tls-key-backup1",
            "backup/pgbackrest-conf-backup1",
            "backup/pgbackrest-service-backup1",
            "backup/schedule-script-backup1",
            "backup/schedule-service-backup1",
            "backup/schedule-timer-full-backup1",
            "backup/schedule-timer-diff-backup1",
            "backup/server-backup1",
            "cluster/backup-stanza",
            "cluster/backup-timers-backup1",
        ]);
        for (const m of ["pg1", "pg2", "pg3"]) for (const k of [`patroni/pgbackrest-conf-${m}`, `patroni/pgbackrest-service-${m}`, `patroni/pgbackrest-server-${m}`]) expect(steps.has(k), k).toBe(true);
    });

    it("installs the repository host beside every other host: its install waits for no other host", () => {
        expect([...upstreamOf(plan, "backup/install-backup1")]).toEqual(["backup/ready-backup1"]);
        // Members get pgBackRest in the same install as PostgreSQL.
        expect(stepText(step("patroni/install-pg1").script, placeholderSecrets(c), "")).toMatch(/^install_packages postgresql-17 patroni python3-etcd curl postgresql-client openssl pgbackrest$/m);
    });

    it("writes the repository host's files after etcd's TLS gate, which waits for every host's guard, the repository host's too (a plain-text etcd or a certificate no host could verify is refused first)", () => {
        for (const f of ["tls-key", "pgbackrest-conf", "schedule-timer-full"]) expect(step(`backup/${f}-backup1`).dependsOn).toContain("etcd/health");
        const fileSteps = plan.filter((s) => s.component === "backup" && s.file !== undefined);
        expect(fileSteps.length).toBeGreaterThan(5);
        for (const s of fileSteps) expect(s.dependsOn, s.key).toContain("etcd/health");
        expect(step("etcd/tls-guard-backup-backup1").dependsOn).toEqual([]);
        expect(upstreamOf(plan, "etcd/health")).toContain("etcd/tls-guard-backup-backup1");
    });

    it("starts the repository's server before any member starts (an added member restores from it), each member's server before the gate", () => {
        for (const m of ["pg1", "pg2", "pg3"]) {
            expect(upstreamOf(plan, `patroni/start-${m}`)).toContain("backup/server-backup1");
            expect(upstreamOf(plan, `patroni/start-${m}`)).toContain(`patroni/pgbackrest-conf-${m}`);
        }
        expect(step("backup/server-backup1").applies).toEqual(["backup/pgbackrest-conf-backup1", "backup/pgbackrest-service-backup1", "backup/tls-ca-backup1", "backup/tls-cert-backup1", "backup/tls-key-backup1"]);
        expect(step("patroni/pgbackrest-server-pg2").applies).toEqual(["patroni/pgbackrest-conf-pg2", "patroni/pgbackrest-service-pg2", "patroni/tls-ca-pg2", "patroni/tls-cert-pg2", "patroni/tls-key-pg2"]);
    });

    it("checks the stanza after the leader gate and the DCS settings (archive_command live), and starts the schedule after it", () => {
        const stanza = step("cluster/backup-stanza");
        expect(stanza.host).toBe("backup1");
        expect(stanza.after).toEqual(["patroni/leader", "patroni/dcs-config"]);
        // The schedule's units too: the gate starts the first full backup through them.
        expect(stanza.dependsOn).toEqual(["backup/server-backup1", "backup/schedule-script-backup1", "backup/schedule-service-backup1", "backup/schedule-timer-full-backup1", "backup/schedule-timer-diff-backup1", "patroni/pgbackrest-server-pg1", "patroni/pgbackrest-server-pg2", "patroni/pgbackrest-server-pg3"]);
        const schedule = step("cluster/backup-timers-backup1");
        expect(schedule.dependsOn).toContain("cluster/backup-stanza");
        expect(schedule.applies).toEqual(["backup/schedule-script-backup1", "backup/schedule-service-backup1", "backup/schedule-timer-full-backup1", "backup/schedule-timer-diff-backup1"]);
        // Every step comes after the steps it waits for (the order the components create them in).
        const index = new Map(plan.map((s, i) => [s.key, i]));
        for (const s of plan) for (const d of [...s.dependsOn, ...s.after]) expect(index.get(d)!, `${s.key} after ${d}`).toBeLessThan(index.get(s.key)!);
    });

    it("undoes what it started: the servers and the timers stop on delete, every file is removed", () => {
        for (const key of ["backup/server-backup1", "patroni/pgbackrest-server-pg1"]) expect(step(key).onDelete).toMatch(/systemctl disable --now "\$unit"/);
        expect(step("backup/server-backup1").onDelete).toContain("units=('pgbackrest' )");
        expect(step("cluster/backup-timers-backup1").onDelete).toContain("for timer in pgha-backup-full.timer pgha-backup-diff.timer pgha-backup-incr.timer ; do");
        for (const s of plan.filter((s) => s.file)) expect(s.onDelete, s.key).toContain(`rm -f '${s.file!.path}'`);
        // The gate changes nothing: nothing to undo.
        expect(step("cluster/backup-stanza").onDelete).toBeUndefined();
        // The gate starts the first full backup when the repository has none (in the background: a large database's outlasts any gate).
        const gate = stepText(step("cluster/backup-stanza").script, placeholderSecrets(c), "");
        expect(gate).toMatch(/retry pgbackrest --log-level-console=info check\necho "stanza orders created and checked"\nfirst_full_backup\n/);
        expect(gate).toContain("systemctl start --no-block pgha-backup@full.service");
    });

    it("a schedule set to off has no timer file, and the schedule step stops its timer", () => {
        const off = clusterPlan(resolveValidCluster(backupSpec((s) => (s.backup!.schedule = { diff: "off" })), "orders"));
        expect(off.some((s) => s.key === "backup/schedule-timer-diff-backup1")).toBe(false);
        const script = stepText(byKey(off).get("cluster/backup-timers-backup1")!.script, placeholderSecrets(c), "");
        expect(script).toContain("systemctl disable --now pgha-backup-diff.timer");
        expect(script).toContain("systemctl restart pgha-backup-full.timer");
    });
});

describe("the plan with an object store", () => {
    const c = resolveValidCluster(s3Spec(), "orders");
    const plan = clusterPlan(c);
    const steps = byKey(plan);

    it("has no repository host and no pgBackRest server: every member has the stanza gate and the schedule", () => {
        expect(plan.some((s) => s.component === "backup" || s.key.includes("pgbackrest-server"))).toBe(false);
        for (const m of ["pg1", "pg2", "pg3"]) {
            expect(steps.get(`patroni/stanza-${m}`)!.after).toEqual(["patroni/leader", "patroni/dcs-config"]);
            expect(steps.get(`patroni/backup-timers-${m}`)!.dependsOn).toContain(`patroni/stanza-${m}`);
        }
    });

    it("keeps the access key secret: pgbackrest.conf travels as a secret, 0640 postgres", () => {
        const conf = steps.get("patroni/pgbackrest-conf-pg1")!;
        expect(typeof conf.stdin).toBe("object");
        expect(conf.file).toMatchObject({ path: "/etc/pgbackrest/pgbackrest.conf", mode: "0640", owner: "postgres:postgres", secret: true });
        const text = stepText(conf.stdin!, { ...placeholderSecrets(c), backupS3Key: { accessKeyId: "AKID-1", secretAccessKey: "SECRET-2" } }, "");
        expect(text).toContain("repo1-s3-key=AKID-1\nrepo1-s3-key-secret=SECRET-2\n");
        for (const s of plan) expect(typeof s.script === "string" ? s.script : "", s.key).not.toContain("SECRET-2");
    });
});

describe("rendered files", () => {
    const rendered = (spec: ClusterSpec) => renderClusterFiles(resolveValidCluster(spec, "orders"));
    const files = rendered(backupSpec());
    const yml = (key: string) => parse(files.get(key)!, { version: "1.1" }) as Record<string, any>;

    it("patroni.yml: replicas from the repository first, pg_basebackup as the fallback, archived WAL for replicas", () => {
        const pg = yml("pg1/etc/patroni/config.yml").postgresql;
        expect(pg.create_replica_methods).toEqual(["pgbackrest", "basebackup"]);
        expect(pg.pgbackrest).toEqual({ command: "/usr/bin/pgbackrest --stanza=orders --type=standby --delta restore", keep_data: true, no_params: true });
        expect(pg.pgbackrest).not.toHaveProperty("no_leader");
        expect(pg.recovery_conf).toEqual({ restore_command: '/usr/bin/pgbackrest --stanza=orders archive-get %f "%p"' });
        expect(yml("pg1/etc/patroni/config.yml").bootstrap.dcs.postgresql.parameters.archive_command).toBe("/usr/bin/pgbackrest --stanza=orders archive-push %p");
    });

    it("the repository host reaches every member by address with its certificate; each member admits only the repository host", () => {
        const repo = files.get("backup1/etc/pgbackrest/pgbackrest.conf")!;
        // One line per client: pgBackRest reads tls-server-auth as a map of client CN to stanzas.
        expect(repo).toContain("tls-server-auth=pg1=orders\ntls-server-auth=pg2=orders\ntls-server-auth=pg3=orders\n");
        for (const [i, a] of ["10.0.0.21", "10.0.0.22", "10.0.0.23"].entries()) expect(repo).toContain(`pg${i + 1}-host=${a}\npg${i + 1}-host-type=tls\n`);
        expect(repo).toContain("repo1-retention-full=2\n");
        expect(repo).not.toContain("repo1-retention-diff");
        const member = files.get("pg2/etc/pgbackrest/pgbackrest.conf")!;
        expect(member).toContain("repo1-host=10.0.0.41\nrepo1-host-type=tls\n");
        expect(member).toContain("tls-server-address=10.0.0.22\n");
        expect(member).toContain("tls-server-auth=backup1=orders\n");
        expect(member).toContain("repo1-host-cert-file=/etc/patroni/tls/host.crt\n");
        expect(member).not.toContain("retention");
    });

    it("the object store's members guard their backups with GET /primary over HTTPS, with the cluster's CA", () => {
        const s3 = rendered(s3Spec());
        const script = s3.get("pg3/usr/local/sbin/pgha-backup")!;
        expect(script).toContain("code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 'https://10.0.0.23:8008'/primary || true)");
        expect(script).toContain("REST_API_CA='/etc/patroni/tls/ca.crt'");
        expect(s3.get("pg3/etc/pgbackrest/pgbackrest.conf")).toContain("repo1-type=s3\nrepo1-path=/pgbackrest\nrepo1-s3-bucket=orders-backups\nrepo1-s3-region=us-east-1\nrepo1-s3-endpoint=10.0.0.60:9000\nrepo1-s3-uri-style=path\nrepo1-s3-key-type=shared\nrepo1-s3-key=<secret:backupS3AccessKeyId>\n");
        // Where backups run, retention is set.
        expect(s3.get("pg3/etc/pgbackrest/pgbackrest.conf")).toContain("repo1-retention-full=2\n");
        // The repository host's backups need no guard: pgBackRest finds the primary itself.
        expect(files.get("backup1/usr/local/sbin/pgha-backup")).not.toContain("/primary");
    });

    it("without backups nothing of pgBackRest is rendered", () => {
        const plain = renderClusterFiles(readStackSettings("lab").cluster);
        expect([...plain.keys()].filter((k) => /pgbackrest|pgha-backup/.test(k))).toEqual([]);
        expect([...plain.values()].some((v) => v.includes("pgbackrest"))).toBe(false);
        expect(JSON.parse(readStackFile("lab-backup")["pulumi-patroni:cluster"]).hosts.backup).toEqual([{ name: "backup1", address: "10.251.17.41" }]);
    });
});

describe("backup.restore: the restore procedure once, from pulumi up", () => {
    const at = "2026-11-24 14:00:00+00";
    const restorePlan = (spec: ClusterSpec) => clusterPlan(resolveValidCluster(spec, "orders")).filter((s) => /^restore-[0-9a-f]{8}-/.test(s.name));
    const withRestore = (restore: NonNullable<NonNullable<ClusterSpec["backup"]>["restore"]>, base = backupSpec) => base((s) => (s.backup!.restore = restore));
    /** The steps without the run's prefix (restore-<hash>-). */
    const named = (steps: PlanStep[]) => steps.map((s) => s.name.replace(/^restore-[0-9a-f]{8}-/, ""));

    it("reads a target's zone as pgBackRest does", () => {
        expect(restoreTargetMs("2026-11-24 14:00:00+00")).toBe(Date.UTC(2026, 10, 24, 14));
        expect(restoreTargetMs("2026-11-24 14:00:00.5+01:00")).toBe(Date.UTC(2026, 10, 24, 13, 0, 0, 500));
        expect(restoreTargetMs("2026-11-24 14:00:00-0530")).toBe(Date.UTC(2026, 10, 24, 19, 30));
    });

    it("has no step without the setting", () => {
        expect(restorePlan(backupSpec())).toEqual([]);
        expect(resolveBackup(withRestore({ to: "latest", id: "drill-1" })).restore).toEqual({ to: "latest", id: "drill-1", member: "pg1" });
    });

    it("runs the procedure's steps in its order, on the hosts it names, each wave after the last, all of it after every other step of the cluster", () => {
        const plan = clusterPlan(resolveValidCluster(withRestore({ to: at, id: "orders-drop", member: "pg2" }), "orders"));
        const steps = plan.filter((s) => /^restore-[0-9a-f]{8}-/.test(s.name));
        expect(named(steps)).toEqual(["archive-pg1", "archive-pg3", "pause", "stop-pg1", "stop-pg3", "stop-pg2", "clear-dcs", "restore", "backup", "reclone-pg1", "reclone-pg3"]);
        const step = (n: string) => steps[named(steps).indexOf(n)];
        expect(steps.map((s) => s.host)).toEqual(["pg1", "pg3", "pg2", "pg1", "pg3", "pg2", "pg2", "pg2", "backup1", "pg1", "pg3"]);
        expect(step("archive-pg1").script).toBe("/usr/local/sbin/pgha-restore archive\n");
        expect(step("pause").script).toBe("/usr/local/sbin/pgha-restore pause\n");
        // A member added later gets a stop step too: with the cluster not paused it finds nothing to do.
        expect(step("stop-pg1").script).toBe("/usr/local/sbin/pgha-restore stop --if-paused\n");
        expect(step("clear-dcs").script).toBe("/usr/local/sbin/pgha-restore clear-dcs 'orders'\n");
        expect(step("restore").script).toBe(`/usr/local/sbin/pgha-restore restore '${at}'\n`);
        // pgBackRest takes backups on the repository host only.
        expect(step("backup").script).toBe("systemctl start pgha-backup@full.service\n");
        expect(step("reclone-pg3").script).toBe("/usr/local/sbin/pgha-restore reclone\n");
        const keys = (...names: string[]) => names.map((n) => step(n).key).sort();
        expect([...step("pause").dependsOn].sort()).toEqual(keys("archive-pg1", "archive-pg3"));
        for (const m of ["pg1", "pg2", "pg3"]) expect(step(`stop-${m}`).dependsOn).toEqual(keys("pause"));
        expect([...step("clear-dcs").dependsOn].sort()).toEqual(keys("stop-pg1", "stop-pg2", "stop-pg3"));
        expect(step("restore").dependsOn).toEqual(keys("clear-dcs"));
        expect(step("backup").dependsOn).toEqual(keys("restore"));
        for (const m of ["pg1", "pg3"]) expect(step(`reclone-${m}`).dependsOn).toEqual(keys("backup"));
        // The first wave waits for the cluster's own last steps: the roles, the stanza gate and the schedule (each after everything else).
        expect([...step("archive-pg1").dependsOn].sort()).toEqual(["cluster/backup-stanza", "cluster/backup-timers-backup1", "cluster/roles"]);
        for (const s of steps) {
            expect(s.runOnce, s.name).toBe(true);
            expect(s.component, s.name).toBe("cluster");
            expect(s.onDelete, s.name).toBeUndefined();
        }
        // Nothing else in the plan changes with it.
        const shape = (steps: PlanStep[]) => steps.map((s) => ({ key: s.key, host: s.host, script: typeof s.script === "string" ? s.script : "(rendered)", dependsOn: s.dependsOn, after: s.after }));
        expect(shape(plan.filter((s) => !/^restore-[0-9a-f]{8}-/.test(s.name)))).toEqual(shape(clusterPlan(resolveValidCluster(backupSpec(), "orders"))));
    });

    it("names a run by its id, target and member: the same setting is the same steps, another is other steps", () => {
        const prefix = (steps: PlanStep[]) => [...new Set(steps.map((s) => /^restore-[0-9a-f]{8}-/.exec(s.name)![0]))];
        const base = restorePlan(withRestore({ to: at, id: "drill-1" }));
        expect(prefix(base)).toHaveLength(1);
        expect(restorePlan(withRestore({ to: at, id: "drill-1" })).map((s) => s.name)).toEqual(base.map((s) => s.name));
        for (const other of [{ to: at, id: "drill-2" }, { to: "latest", id: "drill-1" }, { to: at, id: "drill-1", member: "pg3" }]) {
            expect(prefix(restorePlan(withRestore(other))), JSON.stringify(other)).not.toEqual(prefix(base));
        }
        // The member restored defaults to the first Patroni host.
        expect(restorePlan(withRestore({ to: at, id: "drill-1", member: "pg1" })).map((s) => s.name)).toEqual(base.map((s) => s.name));
    });

    it("with an object store, the member restored (then the primary) takes the fresh backup", () => {
        const steps = restorePlan(withRestore({ to: "latest", id: "drill-1" }, s3Spec));
        const backup = steps.find((s) => s.name.endsWith("-backup"))!;
        expect(backup.host).toBe("pg1");
        expect(backup.script).toBe("/usr/local/sbin/pgha-restore backup\n");
        expect([...steps[0].dependsOn].sort()).toEqual(["cluster/roles"]);
    });
});

describe("the restore procedure (rendered only: running it needs the lab)", () => {
    const onHost = renderClusterFiles(resolveValidCluster(backupSpec(), "orders"));
    const onS3 = renderClusterFiles(resolveValidCluster(s3Spec(), "orders"));
    const script = onHost.get("pg2/usr/local/sbin/pgha-restore")!;
    /** The body of one subcommand of the script's case statement. */
    const subcommand = (text: string, name: string): string => {
        const m = new RegExp(`\\n    ${name}\\)\\n([\\s\\S]*?)\\n        ;;\\n`).exec(text);
        if (!m) throw new Error(`no subcommand ${name}`);
        return m[1];
    };

    it("is on every member with backups, and nowhere without them", () => {
        for (const h of ["pg1", "pg2", "pg3"]) expect(onHost.has(`${h}/usr/local/sbin/pgha-restore`), h).toBe(true);
        expect(onHost.has("backup1/usr/local/sbin/pgha-restore")).toBe(false);
        const plan = clusterPlan(resolveValidCluster(backupSpec(), "orders"));
        expect(plan.find((s) => s.key === "patroni/restore-script-pg2")!.file).toMatchObject({ path: "/usr/local/sbin/pgha-restore", mode: "0750", owner: "root:root", validator: "shell" });
        expect([...renderClusterFiles(readStackSettings("lab").cluster).keys()].some((k) => k.includes("pgha-restore"))).toBe(false);
    });

    it("documents the steps in their order, and each is a subcommand", () => {
        const steps = [...script.matchAll(/^# {3}\d\. pgha-restore (\S+)/gm)].map((m) => m[1]);
        // The fresh backup before the re-clones: they restore the newest backup, which must be of the new timeline.
        expect(steps).toEqual(["pause", "stop", "clear-dcs", "restore", "backup", "reclone"]);
        for (const s of steps) expect(() => subcommand(script, s)).not.toThrow();
    });

    it("pauses Patroni once the primary's WAL is archived, and stops PostgreSQL too (paused, Patroni leaves it running)", () => {
        const pause = subcommand(script, "pause");
        expect(pause.indexOf("--log-level-console=info check")).toBeLessThan(pause.indexOf('"${patronictl[@]}" pause --wait'));
        expect(pause.indexOf("archive_if_primary")).toBeLessThan(pause.indexOf('"${patronictl[@]}" pause --wait'));
        expect(script).toContain('    if [ "$(http_code primary)" = 200 ]; then\n        as_postgres');
        const stop = subcommand(script, "stop");
        expect(stop).toContain('systemctl stop "$service"');
        expect(stop).toContain('as_postgres "$bin/pg_ctl" -D "$data" stop -m fast -w');
    });

    it("clears the cluster's keys only when confirmed by name and no member runs, answering patronictl remove's prompts in order", () => {
        const clear = subcommand(script, "clear-dcs");
        expect(clear).toContain(`if [ "\${2:-}" != 'orders' ]; then`);
        expect(clear).toContain("still runs Patroni or PostgreSQL");
        expect(clear).toContain("wait_for \"every member leaving the DCS\" $((20 * 2)) no_member_running");
        // patroni/ctl.py remove: the cluster's name, "Yes I am aware", then the leader's name if a leader key remains.
        expect(clear).toContain(`printf '%s\\nYes I am aware\\n%s\\n' 'orders' "$leader" | "\${patronictl[@]}" remove 'orders'`);
    });

    it("waits by asking again: clear-dcs runs once the members have left the DCS, answering patronictl remove's prompts (run with stand-ins for patronictl and systemctl)", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pgha-restore-"));
        try {
            const bin = path.join(dir, "bin");
            fs.mkdirSync(bin);
            // patronictl lists two running members for its first two calls, then none; remove records its input.
            fs.writeFileSync(path.join(bin, "patronictl"), `#!/bin/bash
n=$(cat ${dir}/calls 2>/dev/null || echo 0); echo $((n + 1)) > ${dir}/calls
case "$*" in
    *"list -f json"*) if [ "$n" -lt 2 ]; then echo '[{"Member": "pg1", "Role": "Leader", "State": "running"}, {"Member": "pg3", "Role": "Replica", "State": "streaming"}]'; else echo '[]'; fi ;;
    *"remove orders"*) cat > ${dir}/remove.stdin ;;
esac
`, { mode: 0o755 });
            fs.writeFileSync(path.join(bin, "systemctl"), "#!/bin/bash\nexit 3\n", { mode: 0o755 });
            fs.writeFileSync(path.join(dir, "pgha-restore"), script.replace("data='/var/lib/postgresql/17/main'", `data='${dir}/data'`), { mode: 0o755 });
            const r = spawnSync("bash", [path.join(dir, "pgha-restore"), "clear-dcs", "orders"], { encoding: "utf8", env: { ...process.env, PATH: `${bin}:${process.env.PATH}` }, timeout: 60_000 });
            expect(r.stderr + r.stdout).toContain("the keys of cluster orders are gone from the DCS");
            expect(r.status).toBe(0);
            // Asked again until the members had left (the old script evaluated "$(...)" once and waited out its whole time).
            expect(Number(fs.readFileSync(path.join(dir, "calls"), "utf8"))).toBeGreaterThanOrEqual(4);
            expect(fs.readFileSync(path.join(dir, "remove.stdin"), "utf8")).toBe("orders\nYes I am aware\n\n");
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    }, 60_000);

    /**
     * Runs a subcommand of pg2's script with stand-ins (bash bodies, by command name) first on PATH;
     * every stand-in records its arguments in <dir>/calls.
     */
    const runWith = (args: string[], standIns: Record<string, string>) => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pgha-restore-"));
        try {
            const bin = path.join(dir, "bin");
            fs.mkdirSync(bin);
            fs.mkdirSync(path.join(dir, "data"));
            for (const [name, body] of Object.entries(standIns)) fs.writeFileSync(path.join(bin, name), `#!/bin/bash\necho "${name} $*" >> ${dir}/calls\n${body}\n`, { mode: 0o755 });
            fs.writeFileSync(path.join(dir, "pgha-restore"), script.replace("data='/var/lib/postgresql/17/main'", `data='${dir}/data'`), { mode: 0o755 });
            const r = spawnSync("bash", [path.join(dir, "pgha-restore"), ...args], { encoding: "utf8", env: { ...process.env, PATH: `${bin}:${process.env.PATH}` }, timeout: 30_000 });
            const calls = fs.existsSync(path.join(dir, "calls")) ? fs.readFileSync(path.join(dir, "calls"), "utf8").trim().split("\n") : [];
            return { status: r.status, output: r.stdout + r.stderr, calls };
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    };
    const notPrimary = { curl: "echo -n 503" };
    const patroniRuns = { systemctl: 'case "$1" in is-active) exit 0 ;; *) exit 0 ;; esac' };

    it("stops a member only while the cluster is paused: refused otherwise, or with --if-paused (the stack's steps, which a member added later also gets) nothing to do (run with stand-ins)", () => {
        const unpaused = { ...patroniRuns, patronictl: 'case "$*" in *show-config*) echo "ttl: 20" ;; esac' };
        const refused = runWith(["stop"], unpaused);
        expect(refused.status).toBe(1);
        expect(refused.output).toContain("cluster orders is not paused: run");
        expect(refused.calls.filter((c) => c.startsWith("systemctl stop"))).toEqual([]);
        const skipped = runWith(["stop", "--if-paused"], unpaused);
        expect(skipped.status).toBe(0);
        expect(skipped.output).toContain("cluster orders is not paused: no restore is under way, pg2 keeps running");
        expect(skipped.calls.filter((c) => c.startsWith("systemctl stop"))).toEqual([]);
        const stopped = runWith(["stop", "--if-paused"], { ...patroniRuns, patronictl: 'case "$*" in *show-config*) printf "pause: true\\nttl: 20\\n" ;; esac' });
        expect(stopped.status).toBe(0);
        expect(stopped.calls, stopped.output).toContain("systemctl stop patroni");
    });

    it("pauses a cluster that is not paused yet, archiving first only on the primary (run with stand-ins)", () => {
        const paused = runWith(["pause"], { ...notPrimary, patronictl: 'case "$*" in *show-config*) echo "pause: true" ;; esac' });
        expect(paused.status).toBe(0);
        expect(paused.output).toContain("pg2 is not the primary: nothing to archive here");
        expect(paused.output).toContain("cluster orders is paused already");
        expect(paused.calls.some((c) => / pause --wait/.test(c))).toBe(false);
        const pausing = runWith(["pause"], { ...notPrimary, patronictl: "true" });
        expect(pausing.status).toBe(0);
        expect(pausing.calls.some((c) => / pause --wait$/.test(c))).toBe(true);
    });

    it("leaves a member that already streams on the leader's timeline as it is (a member added after the restore; run with stand-ins)", () => {
        const list = `[{"Member": "pg1", "Role": "Leader", "State": "running", "TL": 3}, {"Member": "pg2", "Role": "Replica", "State": "streaming", "TL": 3}]`;
        const r = runWith(["reclone"], { ...notPrimary, ...patroniRuns, runuser: "exit 1", patronictl: `case "$*" in *"list -f json"*) echo '${list}' ;; esac` });
        expect(r.output).toContain("pg2 already streams from the leader on its timeline 3: nothing to re-clone");
        expect(r.status).toBe(0);
        expect(r.calls.filter((c) => c.startsWith("systemctl stop"))).toEqual([]);
    });

    it("refuses a restore target pgBackRest cannot read, or one without a zone, before anything changes (found in the lab: an ISO time refused after the data had moved aside)", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pgha-restore-"));
        try {
            fs.mkdirSync(path.join(dir, "data"));
            fs.writeFileSync(path.join(dir, "data", "PG_VERSION"), "17\n");
            fs.writeFileSync(path.join(dir, "pgha-restore"), script.replace("data='/var/lib/postgresql/17/main'", `data='${dir}/data'`), { mode: 0o755 });
            for (const target of ["2026-11-24T14:00:00Z", "2026-11-24 14:00:00", "yesterday", "2026-11-24 14:00+00"]) {
                const r = spawnSync("bash", [path.join(dir, "pgha-restore"), "restore", target], { encoding: "utf8" });
                expect(r.status, target).toBe(2);
                expect(r.stderr).toContain(`restore target '${target}': write it as YYYY-MM-DD HH:MM:SS[.fraction] with a zone, e.g. '2026-11-24 14:00:00+00' (UTC), or latest`);
                expect(fs.readdirSync(path.join(dir, "data")), "nothing moved aside").toEqual(["PG_VERSION"]);
            }
            // pgBackRest's own forms pass the check and meet the next one: Patroni still runs (a stand-in systemctl says so).
            fs.mkdirSync(path.join(dir, "bin"));
            fs.writeFileSync(path.join(dir, "bin", "systemctl"), "#!/bin/bash\nexit 0\n", { mode: 0o755 });
            for (const target of ["2026-11-24 14:00:00+00", "2026-11-24 14:00:00.123456+01:00", "2026-11-24 14:00:00-0500", "latest"]) {
                const r = spawnSync("bash", [path.join(dir, "pgha-restore"), "restore", target], { encoding: "utf8", env: { ...process.env, PATH: `${dir}/bin:${process.env.PATH}` } });
                expect(r.stderr, target).not.toContain("restore target");
                expect(r.stderr, target).toContain("still runs Patroni or PostgreSQL: run");
                expect(r.status, target).toBe(1);
                expect(fs.readdirSync(path.join(dir, "data")), "nothing moved aside").toEqual(["PG_VERSION"]);
            }
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("restores to a time (or the end of the archive), promotes before Patroni starts, and moves data aside rather than deleting it", () => {
        const restore = subcommand(script, "restore");
        expect(restore).toContain('recovery=(--type=time "--target=$target" --target-action=promote)');
        expect(restore).toContain("recovery=(--type=default)");
        expect(restore).toContain(`as_postgres '/usr/bin/pgbackrest' --stanza='orders' --log-level-console=info "\${recovery[@]}" restore`);
        expect(restore).toContain('rm -f "$data/patroni.dynamic.json"');
        expect(restore.indexOf(" 3600 promoted")).toBeGreaterThan(0);
        expect(restore.indexOf(" 3600 promoted")).toBeLessThan(restore.indexOf("start_patroni\n"));
        expect(restore).toContain(`wait_for "pg2 to lead the restored cluster" ${GATE_TIMEOUTS_SEC.patroniLeader} api_answers primary`);
        // The stack's DCS settings back (clear-dcs removed them; Patroni initialized the DCS with bootstrap.dcs).
        const settings = JSON.parse(/<<'DCS_SETTINGS'\n([\s\S]*?)\nDCS_SETTINGS/.exec(restore)![1]);
        expect(settings).toEqual(dcsConfig(resolveValidCluster(backupSpec(), "orders")));
        expect(restore.indexOf("edit-config --force --apply -")).toBeGreaterThan(restore.indexOf("api_answers primary"));
        expect(restore).toContain("the DCS still holds members of orders");
        expect(script).not.toMatch(/rm -rf/);
        expect(script).toContain('aside="$data.before-restore-$(date -u +%Y%m%dT%H%M%SZ)"');
    });

    it("re-clones a member (never the primary) so none stays on the old timeline, then waits until it streams", () => {
        const reclone = subcommand(script, "reclone");
        expect(reclone).toContain("is the primary: reclone the other members");
        expect(reclone.indexOf("move_data_aside")).toBeLessThan(reclone.indexOf("start_patroni"));
        expect(reclone).toContain("streams_on_leader_timeline");
        // Refused while the newest backup is of an older timeline than the leader's.
        expect(reclone).toContain('if [ -n "$backup_tl" ] && [ "$backup_tl" -lt "$leader_tl" ]; then');
        expect(reclone.indexOf("take the fresh full backup first")).toBeLessThan(reclone.indexOf("move_data_aside"));
        // Over HTTPS with the cluster's CA.
        expect(script).toContain("api='https://10.0.0.22:8008'");
        expect(script).toContain("REST_API_CA='/etc/patroni/tls/ca.crt'");
    });

    it("takes the fresh full backup where backups run: the repository host, or the primary with an object store", () => {
        expect(subcommand(script, "backup")).toContain("backups run on the repository host: there, run systemctl start pgha-backup@full.service");
        expect(subcommand(script, "backup")).toContain("exit 1");
        const s3 = subcommand(onS3.get("pg1/usr/local/sbin/pgha-restore")!, "backup");
        expect(s3).toContain("is not the primary: run this on the primary");
        expect(s3).toContain("systemctl start pgha-backup@full.service");
    });
});
