// End to end, against the real lab: `lab up` builds eight hosts and runs the program against them;
// the cluster must then work as a user expects. A second `pulumi up` (lab apply, against the stack's
// state) with nothing changed must run nothing; `lab destroy` must stop every service of the project;
// `lab down` must leave nothing behind.
// Needs root, and ~4 minutes cold. Run with `npm run test:e2e`.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { etcdNodes, isFullRoleSet, labOutputs, labSslEnv, patroniMembers, patroniNodes, proxyNodes, runScenario, vip, vipHolders } from "../bench/failover-lib";
import { applyChange, applyOverlay, ApplyFailed, backupMatrix, day2Matrix, etcdctl, eventually, repositoryBackups, ssh, topologyMatrix, type Day2Change } from "../bench/day2-lib";
import { pointInTimeRestore } from "../bench/backup-lib";
import { readStackSettings } from "../tools/render";
import type { StepReport } from "../tools/engine";
import { labCluster, labLayout, runningHosts, STATE_FILE } from "../lab/cli";
import { certificateHosts } from "../model/resolve";

const REPO_ROOT = path.resolve(__dirname, "..");
/** The stack the lab runs: `lab` (Debian 13, the default) unless LAB_STACK names another, e.g. `lab-debian12`. */
const STACK = process.env.LAB_STACK ?? "lab";

function lab(args: string[], inherit = true): { status: number; stdout: string } {
    const r = spawnSync("npx", ["tsx", path.join(REPO_ROOT, "lab", "cli.ts"), ...args], {
        cwd: REPO_ROOT,
        stdio: inherit ? ["ignore", "inherit", "inherit"] : ["ignore", "pipe", "pipe"],
        encoding: "utf8",
    });
    return { status: r.status ?? 1, stdout: `${r.stdout ?? ""}${r.stderr ?? ""}` };
}


/** A lab command with --json: its steps and Pulumi-shaped summary. */
function labJson(args: string[]): { steps: StepReport[]; summary: string } {
    const r = spawnSync("npx", ["tsx", path.join(REPO_ROOT, "lab", "cli.ts"), ...args, "--stack", STACK, "--json"], {
        cwd: REPO_ROOT,
        stdio: ["ignore", "pipe", "inherit"],
        encoding: "utf8",
        maxBuffer: 64 * 1024 * 1024,
    });
    if (r.status !== 0) throw new Error(`lab ${args.join(" ")} failed (exit ${r.status}): see its output above`);
    return JSON.parse(r.stdout) as { steps: StepReport[]; summary: string };
}

const labState = labOutputs;

function psql(port: number, sql: string, user = "postgres", password = String(labState().superuserPassword)): string {
    const r = spawnSync("psql", ["-h", vip(), "-p", String(port), "-U", user, "-d", "postgres", "-XAtqc", sql], {
        encoding: "utf8",
        // With TLS, as lab psql: verify-full against the stack's CA.
        env: { ...process.env, PGPASSWORD: password, PGCONNECT_TIMEOUT: "5", ...labSslEnv() },
    });
    if (r.status !== 0) throw new Error(`psql :${port} ${sql}: ${r.stderr}`);
    return r.stdout.trim();
}

/** Every property a healthy lab cluster has, checked as a user would. */
async function expectHealthyCluster(marker: string): Promise<void> {
    const health = etcdctl("endpoint health 2>&1");
    expect(health.match(/is healthy/g)?.length, health).toBe(Object.keys(etcdNodes()).length);

    const members = await eventually("Leader + Sync Standby + Replica", () => patroniMembers() ?? [], (m) => {
        const roles = m.map((x) => x.role).sort();
        return m.length === 3 && isFullRoleSet(roles) && m.every((x) => ["running", "streaming"].includes(x.state));
    });
    expect(isFullRoleSet(members.map((m) => m.role).sort()), JSON.stringify(members)).toBe(true);

    // A row written through VIP:5000 lands on the primary...
    psql(5000, "create table if not exists e2e (id bigserial primary key, marker text not null, at timestamptz default now())");
    const written = psql(5000, `insert into e2e (marker) values ('${marker}') returning pg_is_in_recovery()`);
    expect(written).toBe("f");
    // ...and is read back through VIP:5001 from a replica.
    const read = await eventually(
        "the row through VIP:5001",
        () => psql(5001, `select pg_is_in_recovery() || ':' || count(*) from e2e where marker = '${marker}'`),
        (v) => v === "true:1",
        30_000,
    );
    expect(read).toBe("true:1");

    // The admin role was created with a SCRAM verifier computed by the program: it can log in.
    expect(psql(5000, "select current_user", "admin", String(labState().adminPassword))).toBe("admin");

    const stats = spawnSync("curl", ["-s", "--max-time", "5", "-o", "/dev/null", "-w", "%{http_code}", `http://${vip()}:7000/`], { encoding: "utf8" });
    expect(stats.stdout).toBe("200");

    const holders = vipHolders();
    expect(holders.length, `VIP holders: ${holders.join(", ")}`).toBe(1);
    // Unicast VRRP elected the holder, and its notify_master action ran (the lab's stand-in for the AWS call).
    expect(ssh(holders[0], "cat /run/pgha-vip-notify.log")).toContain(`${holders[0]} became MASTER for the VIP`);
    expect(ssh(holders[0], "grep -c unicast_peer /etc/keepalived/keepalived.conf").trim()).toBe("1");
}

describe("the lab", () => {
    beforeAll(() => {
        const up = lab(["up", "--stack", STACK]);
        if (up.status !== 0) throw new Error("npm run lab (lab up) failed: see its output above");
    }, 30 * 60_000);

    afterAll(() => {
        lab(["down"]);
    }, 5 * 60_000);

    it("gives a working HA cluster behind the VIP", async () => {
        await expectHealthyCluster("first-run");
        const outputs = labState();
        const stackVip = readStackSettings(STACK).cluster.keepalived?.vip;
        expect(outputs.writerEndpoint).toBe(`${stackVip}:5000`);
        expect(outputs.readerEndpoint).toBe(`${stackVip}:5001`);
        expect(fs.statSync(STATE_FILE).mode & 0o777).toBe(0o600);
    }, 5 * 60_000);

    it("every listener speaks TLS as the stack asks: the chain verifies, plain text and other CAs are refused (or, without TLS, plain text works)", () => {
        const c = labCluster();
        const [pg] = Object.values(patroniNodes());
        const [etcd] = Object.values(etcdNodes());
        const ca = labSslEnv().PGSSLROOTCERT;
        const curl = (...args: string[]) => spawnSync("curl", ["-s", "--max-time", "5", ...args], { encoding: "utf8" });
        const psqlAt = (host: string, port: number, sslmode: string) =>
            spawnSync("psql", [`host=${host} port=${port} user=postgres dbname=postgres sslmode=${sslmode}${ca ? ` sslrootcert=${ca}` : ""}`, "-XAtc", "select 1"], { encoding: "utf8", env: { ...process.env, PGPASSWORD: String(labState().superuserPassword), PGCONNECT_TIMEOUT: "5" } });
        if (!c.tls.enabled) {
            expect(ca).toBeUndefined();
            expect(curl(`http://${pg}:${c.patroni.restApiPort}/patroni`).status).toBe(0);
            expect(curl(`http://${etcd}:${c.etcd.clientPort}/health`).stdout).toContain("true");
            expect(psqlAt(vip(), 5000, "disable").stdout.trim()).toBe("1");
            return;
        }
        expect(ca).toBeDefined();
        // openssl s_client: each listener's chain verifies against the cluster's CA, with the name dialled.
        const verified = (address: string, port: number, extra: string[] = []) =>
            spawnSync("openssl", ["s_client", "-connect", `${address}:${port}`, "-CAfile", ca!, "-verify_ip", address, "-verify_return_error", ...extra], { input: "", encoding: "utf8" });
        const listeners: Array<[string, number, string[]]> = [
            [etcd, c.etcd.clientPort, []],
            [etcd, c.etcd.peerPort, []],
            [pg, c.patroni.restApiPort, []],
            [pg, c.patroni.postgresPort, ["-starttls", "postgres"]],
        ];
        for (const [address, port, extra] of listeners) {
            const r = verified(address, port, extra);
            expect(`${address}:${port} ${r.stdout}`).toMatch(/Verify return code: 0 \(ok\)/);
        }
        // A client of another CA, made here.
        const dir = fs.mkdtempSync("/tmp/pgha-foreign-ca-");
        try {
            const openssl = (...args: string[]) => expect(spawnSync("openssl", args, { encoding: "utf8" }).status).toBe(0);
            openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=foreign CA", "-days", "1", "-keyout", `${dir}/ca.key`, "-out", `${dir}/ca.crt`);
            openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=intruder", "-keyout", `${dir}/c.key`, "-out", `${dir}/c.csr`);
            openssl("x509", "-req", "-in", `${dir}/c.csr`, "-CA", `${dir}/ca.crt`, "-CAkey", `${dir}/ca.key`, "-CAcreateserial", "-days", "1", "-out", `${dir}/c.crt`);
            const foreign = ["--cacert", ca!, "--cert", `${dir}/c.crt`, "--key", `${dir}/c.key`];
            // etcd: plain text, no client certificate, and another CA's certificate are all refused.
            expect(curl(`http://${etcd}:${c.etcd.clientPort}/health`).stdout).not.toContain("true");
            expect(curl("--cacert", ca!, `https://${etcd}:${c.etcd.clientPort}/health`).stdout).not.toContain("true");
            expect(curl(...foreign, `https://${etcd}:${c.etcd.clientPort}/health`).stdout).not.toContain("true");
            // Patroni: plain text refused; reads need no certificate; the endpoints that change state want
            // one of the cluster's CA (another CA's fails the handshake), besides the password.
            expect(curl(`http://${pg}:${c.patroni.restApiPort}/patroni`).stdout).not.toContain("state");
            expect(curl("--cacert", ca!, `https://${pg}:${c.patroni.restApiPort}/patroni`).stdout).toContain('"state"');
            const restart = (...args: string[]) => curl("-o", "/dev/null", "-w", "%{http_code}", "-X", "POST", "-d", '{"schedule":"2099-01-01T00:00:00+00:00"}', ...args, `https://${pg}:${c.patroni.restApiPort}/restart`).stdout;
            expect(restart("--cacert", ca!)).toBe("403");
            expect(restart(...foreign)).toBe("000");
            // PostgreSQL: a connection without TLS has no pg_hba line; verify-full passes at every member and the VIP.
            const plain = psqlAt(pg, c.patroni.postgresPort, "disable");
            expect(plain.status).not.toBe(0);
            expect(plain.stderr).toMatch(/no pg_hba\.conf entry .* no encryption/);
            expect(psqlAt(pg, c.patroni.postgresPort, "verify-full").stdout.trim()).toBe("1");
            expect(psqlAt(vip(), 5000, "verify-full").stdout.trim()).toBe("1");
            // A client that trusts another CA refuses the front door.
            const wrongCa = spawnSync("psql", [`host=${vip()} port=5000 user=postgres dbname=postgres sslmode=verify-full sslrootcert=${dir}/ca.crt`, "-XAtc", "select 1"], { encoding: "utf8", env: { ...process.env, PGPASSWORD: String(labState().superuserPassword), PGCONNECT_TIMEOUT: "5" } });
            expect(wrongCa.stderr).toMatch(/certificate verify failed/);
            // The keys: 0600, the service's own.
            for (const [host, file, owner] of [["pg1", "/etc/patroni/tls/host.key", "postgres"], ["etcd1", "/etc/etcd/tls/host.key", "etcd"]]) {
                expect(ssh(host, `stat -c '%a %U' ${file}`).trim()).toBe(`600 ${owner}`);
            }
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    }, 2 * 60_000);

    it("a second `pulumi up` with nothing changed runs no command, and the cluster stays as it was", async () => {
        const before = labState().superuserPassword;
        const preview = labJson(["preview"]);
        expect(preview.steps.filter((s) => s.op !== "same")).toEqual([]);
        const started = Date.now();
        const again = labJson(["apply"]);
        console.log(`lab apply with no change: ${((Date.now() - started) / 1000).toFixed(1)} s; ${again.summary.replace(/\s+/g, " ")}`);
        expect(again.steps.filter((s) => s.op !== "same")).toEqual([]);
        expect(again.steps.length).toBeGreaterThan(50);
        expect(again.summary).toMatch(/^Resources:\n\s+\d+ unchanged$/);
        // Generated passwords come back from the stack's state.
        expect(labState().superuserPassword).toBe(before);
        await expectHealthyCluster("second-run");
        expect(psql(5000, "select count(*) from e2e where marker in ('first-run', 'second-run')")).toBe("2");
    }, 30 * 60_000);

    // The day-2 change matrix (bench/day2-lib.ts; figures in `npm run bench:day2`): each change with
    // the writer running through VIP:5000, checked on the live services; changes accumulate and the
    // last one goes back to the stack file.
    for (const change of day2Matrix(readStackSettings(STACK).cluster).filter((c) => !c.benchOnly)) {
        it(`day-2 with writes flowing: ${change.name} reaches the running services; 0 acknowledged writes lost`, async () => {
            const r = await applyChange(STACK, change);
            console.log(`${change.name}: apply ${r.applySec} s, ${r.ran.length} steps, longest write gap ${r.maxGapSec} s, ${r.acknowledged} acknowledged, ${r.writerErrors} writer errors${r.writerErrors ? ` (${r.writerErrorMessages.join("; ")})` : ""}`);
            expect(r.error).toBeUndefined();
            expect(r.verified).toBe(true);
            // A refused change fails the apply before anything changes; every other one runs something.
            if (change.kind !== "refused") expect(r.ran.length, "the change ran something").toBeGreaterThan(0);
            expect(r.maxVipHolders, "balancers holding the VIP at once during the apply").toBe(1);
            // A settings change updates steps; nothing is replaced, only a generated password that is
            // now supplied (or the reverse) leaves or joins the state, and only a change of the
            // certificates' validity, signing CA or trusted CAs re-issues them (every host that serves TLS).
            expect(r.ran.filter((step) => !step.startsWith("update ") && !/^(delete|create) lab-[\w-]+-password$/.test(step) && !(change.reissues && /^(replace|delete) lab-tls-[\w-]+-cert$/.test(step)))).toEqual([]);
            if (change.reissues && change.kind !== "refused") expect(r.ran.filter((step) => /^replace lab-tls-[\w-]+-cert$/.test(step))).toHaveLength(certificateHosts(labCluster()).length);
            expect(r.acknowledged).toBeGreaterThan(50);
            expect(r.missing).toEqual([]);
        }, 15 * 60_000);
    }

    /** A change of hosts from git, applied with the writer running. */
    const topologyTest = (change: Day2Change) =>
        it(`topology with writes flowing: ${change.name}; 0 acknowledged writes lost`, async () => {
            const r = await applyChange(STACK, change);
            console.log(`${change.name}: apply ${r.applySec} s, ${r.ran.length} steps, longest write gap ${r.maxGapSec} s, ${r.acknowledged} acknowledged, ${r.writerErrors} writer errors${r.writerErrors ? ` (${r.writerErrorMessages.join("; ")})` : ""}`);
            expect(r.error).toBeUndefined();
            expect(r.verified).toBe(true);
            expect(r.maxVipHolders, "balancers holding the VIP at once during the apply").toBe(1);
            expect(r.acknowledged).toBeGreaterThan(50);
            expect(r.missing).toEqual([]);
        }, 20 * 60_000);

    // Topology changes from git (bench/day2-lib.ts topologyMatrix): a fourth member and back (removed
    // while it leads), etcd2 replaced by etcd4 and back; the lab makes and removes the machines.
    for (const change of topologyMatrix(STACK).filter((c) => !c.benchOnly)) topologyTest(change);

    // Backups from git (bench/day2-lib.ts backupMatrix): on with a repository host, a point-in-time
    // restore (bench/backup-lib.ts), then off again. Refused where the release's pgBackRest cannot.
    const [backupsOn, backupsOff] = backupMatrix(STACK);
    if (backupsOn.kind === "refused") {
        it(`day-2: ${backupsOn.name}, before anything changes`, async () => {
            const r = await applyChange(STACK, backupsOn);
            expect(r.error).toBeUndefined();
            expect(r.ran).toEqual([]);
            expect(r.missing).toEqual([]);
        }, 10 * 60_000);
    } else {
        topologyTest(backupsOn);
        it("restores to a point in time from the stack (backup.restore, run once): every row acknowledged before it is back, none begun after it, the dropped table back, the cluster whole again; the same setting again runs nothing", async () => {
            const members = () => patroniMembers() ?? [];
            const timelineBefore = Math.max(...members().map((m) => m.timeline ?? 0));
            // The settings in force (backups on) with a restore to the target: one `pulumi up`.
            const cluster = backupsOn.config["pulumi-patroni:cluster"] as { backup: Record<string, unknown> };
            const withRestore = (target: string) => ({ "pulumi-patroni:cluster": { ...cluster, backup: { ...cluster.backup, restore: { to: target, id: "e2e-pitr" } } } });
            let applied: { steps: StepReport[]; target: string } | undefined;
            const r = await pointInTimeRestore(String(labState().superuserPassword), async (target) => {
                const run = await applyOverlay(STACK, withRestore(target));
                applied = { steps: run.steps, target };
                // The stand-in's progress lines: "done   <name> (<type>) in <seconds>s".
                return [...run.output.matchAll(/^done {3}lab-restore-[0-9a-f]{8}-(\S+) \(command:remote:Command\) in ([\d.]+)s$/gm)].map((m) => ({ step: m[1], host: "", sec: Number(m[2]) }));
            });
            // Only the restore's steps ran, each once (created), in the procedure's order.
            const ran = applied!.steps.filter((s) => s.op !== "same");
            expect(ran.length).toBe(labCluster().hosts.patroni.length * 3 + 2);
            expect(ran.every((s) => s.op === "create" && /^lab-restore-[0-9a-f]{8}-/.test(s.name)), ran.map((s) => `${s.op} ${s.name}`).join(", ")).toBe(true);
            expect(r.steps.map((s) => s.step.replace(/-(pg\d+)$/, "")).filter((s, i, all) => all.indexOf(s) === i)).toEqual(["archive", "pause", "stop", "clear-dcs", "restore", "backup", "reclone"]);
            console.log(`restore to ${r.target}: ${r.restoreSec} s (${r.steps.map((s) => `${s.step} ${s.host} ${s.sec} s`).join(", ")}); ${r.ackedBeforeTarget} rows acknowledged before it, ${r.ackedAfterTarget} after`);
            expect(r.ackedBeforeTarget).toBeGreaterThan(20);
            expect(r.missingBeforeTarget).toEqual([]);
            expect(r.ackedAfterTarget, "the writer ran past the target").toBeGreaterThan(20);
            expect(r.presentAfterTarget).toBe(0);
            expect(r.droppedTableRows).toBe(r.droppedRows);
            await expectHealthyCluster("after-restore");
            // No member on the old timeline: every one on the leader's new one.
            const timelines = members().map((m) => m.timeline);
            expect(new Set(timelines).size, JSON.stringify(members())).toBe(1);
            expect(timelines[0]).toBeGreaterThan(timelineBefore);
            // A fresh initialize key (no stale one from the old cluster): the restored data's system identifier.
            const scope = labCluster().scope;
            expect(etcdctl(`get --print-value-only /service/${scope}/initialize`).trim()).toBe(psql(5000, "select system_identifier from pg_control_system()"));
            // The newest backup is of the new timeline: a member cloned later restores from it.
            const repository = runningHosts().find((h) => h.roles.includes("backup"))!.name;
            expect(repositoryBackups(repository).at(-1)!.timeline).toBe(timelines[0]);
            // Left in the stack, the restore runs nothing more.
            const again = await applyOverlay(STACK, withRestore(applied!.target));
            expect(again.steps.filter((s) => s.op !== "same")).toEqual([]);
            expect(members().map((m) => m.timeline)).toEqual(timelines);
        }, 20 * 60_000);
        topologyTest(backupsOff);
    }

    it("changing cluster.os of the running cluster is refused by the first step on every host, naming the setting and the fix; nothing else runs", async () => {
        const running = labLayout().release;
        const other = running === "debian13" ? "debian12" : "debian13";
        // The settings the cluster runs with now (the stack file: the day-2 matrix ends there), with os changed.
        const applied = {};
        const refused = await applyOverlay(STACK, { "pulumi-patroni:cluster": { os: other } }).then(
            () => undefined,
            (err: unknown) => err,
        );
        expect(refused).toBeInstanceOf(ApplyFailed);
        const stderr = (refused as ApplyFailed).output;
        expect(stderr).toMatch(new RegExp(`cluster\\.os: \\S+ runs Debian GNU/Linux \\d+ .*, not ${other}`));
        expect(stderr).toContain("replacing its hosts one at a time, never by changing os in place");
        // Only the ready steps ran (and failed): no install, file or service step started.
        expect(stderr).not.toMatch(/^done {3}lab-\S+-(install|start|patroni-yml|etcd-conf|haproxy-cfg)/m);
        // The failed run kept the state: the next apply of the settings in force runs nothing.
        expect((await applyOverlay(STACK, applied)).steps.filter((s) => s.op !== "same")).toEqual([]);
    }, 10 * 60_000);

    // The failover suite's CI subset asserts safety only; timings live in `npm run bench:failover`.
    for (const scenario of ["primary-poweroff", "switchover"]) {
        it(`${scenario}: no acknowledged row lost, never two writable primaries, back to full health by itself`, async () => {
            const r = await runScenario(scenario, "ci", 1, (m) => console.log(m));
            console.log(`${scenario}: outage ${r.writeOutageSec}s, ${r.acknowledged} acknowledged, back to full health in ${r.backToFullHealthSec}s`);
            expect(r.acknowledged).toBeGreaterThan(100);
            expect(r.ackedButMissing).toBe(0);
            expect(r.twoWritablePrimaries).toBe(false);
            expect(r.twoPrimariesByRole).toBe(false);
            expect(r.libpq?.acknowledged).toBeGreaterThan(100);
            expect(r.libpq?.ackedButMissing).toBe(0);
        }, 10 * 60_000);
    }

    it("lab destroy runs the program's delete commands: no service of the project is left running, data kept aside", () => {
        const { pgDataDir } = labLayout();
        const address = vip();
        const result = labJson(["destroy"]);
        expect(result.steps.length).toBeGreaterThan(50);
        expect(result.steps.every((s) => s.op === "delete" && s.status === "done")).toBe(true);
        expect(fs.existsSync(`/var/lib/pgha-lab/stacks/${STACK}.json`)).toBe(false);
        // (Debian's postgresql.service is an umbrella unit with no process of its own: the postmaster check covers it.)
        for (const host of runningHosts().map((h) => h.name)) {
            const active = ssh(host, "for u in etcd patroni haproxy keepalived; do systemctl is-active --quiet $u && echo $u; done; pgrep -x postgres >/dev/null && echo postmaster; true").trim();
            expect(active, `still running on ${host}`).toBe("");
        }
        expect(ssh(Object.keys(patroniNodes())[0], `ls -d ${pgDataDir}.destroyed-* | wc -l`).trim()).toBe("1");
        expect(ssh(proxyNodes()[0], "test -e /etc/haproxy/haproxy.cfg && echo present || echo removed").trim()).toBe("removed");
        expect(vipHolders(address)).toEqual([]);
    }, 10 * 60_000);

    it("leaves nothing behind after lab down", () => {
        expect(lab(["down"]).status).toBe(0);
        const netns = spawnSync("ip", ["netns", "list"], { encoding: "utf8" }).stdout;
        expect(netns).not.toMatch(/pgha-/);
        const links = spawnSync("ip", ["-o", "link", "show"], { encoding: "utf8" }).stdout;
        expect(links).not.toMatch(/pghabr0|pgv-/);
        const mounts = fs.readFileSync("/proc/mounts", "utf8");
        expect(mounts).not.toMatch(/\/var\/lib\/pgha-lab\/hosts/);
        expect(lab(["down"]).status, "down is idempotent").toBe(0);
    }, 5 * 60_000);
});
