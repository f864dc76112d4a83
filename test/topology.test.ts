// Topology changes from git, as successive `pulumi up`s of the lab stack under the engine stand-in's
// state: which steps run (create, update, delete) and in what order when a Patroni member is added or
// removed and when an etcd member is replaced. What they do on live hosts: test-e2e/topology.test.ts.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { describe, expect, it } from "vitest";
import { loadStackConfig, RecordedResource, RunResult, stepReports } from "../tools/engine";
import { upLab } from "./helpers/stack";

type Hosts = Record<"etcd" | "patroni" | "haproxy", Array<{ name: string; address: string }>>;

/** The lab stack's cluster with its host lists changed by `edit`. */
function labCluster(edit: (hosts: Hosts) => void): Record<string, unknown> {
    const cluster = JSON.parse(JSON.stringify(loadStackConfig("lab").config["pulumi-patroni:cluster"]));
    edit(cluster.hosts as Hosts);
    return { "pulumi-patroni:cluster": cluster };
}

/** A later `pulumi up`; every command takes 15 ms, so order can be read from timestamps. */
const up = (stateFile: string, extraConfig: Record<string, unknown> = {}): Promise<RunResult> => upLab(stateFile, extraConfig, 15);

const newState = () => path.join(fs.mkdtempSync(path.join(os.tmpdir(), "topology-state-")), "lab.json");
const ops = (r: RunResult, op: string) =>
    stepReports(r)
        .filter((s) => s.op === op)
        .map((s) => s.name)
        .sort();
function get(r: RunResult, name: string): RecordedResource {
    const found = [...r.resources, ...r.deleted].find((x) => x.name === name);
    if (!found) throw new Error(`no resource ${name}`);
    return found;
}
/** Every `before` finished before every `after` started. */
function expectOrder(r: RunResult, before: string[], after: string[]): void {
    for (const b of before) for (const a of after) expect(get(r, a).startedAt, `${a} must start after ${b} finished`).toBeGreaterThanOrEqual(get(r, b).finishedAt!);
}

const PG4 = { name: "pg4", address: "10.251.17.24" };

/** A Patroni member's resources: its steps, its TLS files, and its key, request and certificate. */
const memberResources = (host: string): string[] =>
    [
        ...["ready", "install", "patroni-yml", "patroni-dropin", "tls-ca", "tls-cert", "tls-key", "reload", "start"].map((s) => `lab-patroni-${s}-${host}`),
        ...["key", "csr", "cert"].map((s) => `lab-tls-${host}-${s}`),
        // Its TLS guard: an etcd step, the first component's (render/plan.ts tlsGate).
        `lab-etcd-tls-guard-patroni-${host}`,
    ].sort();

describe("topology changes as later `pulumi up`s", () => {
    it("a Patroni member added: every running member reloads its pg_hba before the new one starts; both balancers learn it; nothing else restarts", async () => {
        const state = newState();
        await up(state);
        const added = await up(state, labCluster((h) => h.patroni.push(PG4)));
        expect(ops(added, "delete")).toEqual([]);
        // Its own steps, and (TLS) its key, certificate request and certificate from the cluster's CA.
        expect(ops(added, "create")).toEqual(memberResources("pg4"));
        const updated = ops(added, "update");
        for (const h of ["pg1", "pg2", "pg3"]) {
            expect(updated).toContain(`lab-patroni-patroni-yml-${h}`);
            expect(updated).toContain(`lab-patroni-reload-${h}`);
            // A running member is never restarted (or started again) to admit a new one.
            expect(updated).not.toContain(`lab-patroni-start-${h}`);
        }
        for (const lb of ["lb1", "lb2"]) expect(updated).toContain(`lab-proxy-start-${lb}`);
        expect(updated.filter((n) => n.startsWith("lab-etcd-"))).toEqual([]);
        expectOrder(added, ["pg1", "pg2", "pg3"].map((h) => `lab-patroni-reload-${h}`), ["lab-patroni-start-pg4"]);
        // The balancers learn it one after the other, once it streams.
        expectOrder(added, ["lab-patroni-replicas"], ["lab-proxy-start-lb1"]);
        expectOrder(added, ["lab-proxy-start-lb1"], ["lab-proxy-start-lb2"]);
        expect(String(get(added, "lab-patroni-replicas").inputs.create)).toContain("pg1,pg2,pg3,pg4");
    }, 240_000);

    it("a Patroni member removed: the balancers and every other member's pg_hba drop it first, then its steps are deleted (the member hands over the leader role and stops)", async () => {
        const state = newState();
        await up(state);
        const removed = await up(state, labCluster((h) => (h.patroni = h.patroni.filter((m) => m.name !== "pg3"))));
        expect(ops(removed, "create")).toEqual([]);
        expect(ops(removed, "delete")).toEqual(memberResources("pg3"));
        const drained = ["lab-proxy-start-lb1", "lab-proxy-start-lb2", "lab-patroni-reload-pg1", "lab-patroni-reload-pg2"];
        for (const n of drained) expect(ops(removed, "update")).toContain(n);
        expectOrder(removed, drained, ["lab-patroni-start-pg3"]);
        const stop = String(get(removed, "lab-patroni-start-pg3").inputs.delete);
        expect(stop).toMatch(/switchover --leader '?pg3'? --force/);
        expect(stop).not.toMatch(/patronictl[^\n]*\bremove\b/);
    }, 240_000);

    it("patroni.removedMemberData: delete changes only the members' delete commands (set before a removal); the data directory is removed instead of moved aside", async () => {
        const state = newState();
        await up(state);
        const cluster = labCluster(() => undefined)["pulumi-patroni:cluster"] as Record<string, Record<string, unknown>>;
        cluster.patroni = { ...cluster.patroni, removedMemberData: "delete" };
        const set = await up(state, { "pulumi-patroni:cluster": cluster });
        expect(ops(set, "update")).toEqual(["pg1", "pg2", "pg3"].map((h) => `lab-patroni-start-${h}`));
        for (const r of stepReports(set).filter((s) => s.op === "update")) expect(r.changed).toEqual(["delete"]);
        const stop = String(get(set, "lab-patroni-start-pg3").inputs.delete);
        expect(stop).toMatch(/rm -rf --one-file-system '?\/var\/lib\/postgresql\/\d+\/main'?/);
        expect(stop).not.toContain("destroyed-");
        // etcd's data is never deleted by this setting.
        expect(String(get(set, "lab-etcd-start-etcd1").inputs.delete)).toContain("destroyed-");
    }, 240_000);

    it("an etcd member replaced: no running member restarts (quorum intact), the new one joins, the old one is removed and then stopped; Patroni learns the new list", async () => {
        const state = newState();
        await up(state);
        const replaced = await up(
            state,
            labCluster((h) => (h.etcd = h.etcd.map((m) => (m.name === "etcd2" ? { name: "etcd4", address: "10.251.17.14" } : m)))),
        );
        const updated = ops(replaced, "update");
        // The initial cluster changes in every member's file, which a running member never re-reads.
        expect(updated).toContain("lab-etcd-etcd-conf-etcd1");
        expect(updated).not.toContain("lab-etcd-start-etcd1");
        expect(updated).not.toContain("lab-etcd-start-etcd3");
        expect(ops(replaced, "create")).toContain("lab-etcd-start-etcd4");
        expect(ops(replaced, "delete")).toContain("lab-etcd-start-etcd2");
        expect(updated).toContain("lab-etcd-health");
        for (const h of ["pg1", "pg2", "pg3"]) expect(updated).toContain(`lab-patroni-reload-${h}`);
        expectOrder(replaced, ["lab-etcd-start-etcd4"], ["lab-etcd-health"]);
        expectOrder(replaced, ["lab-etcd-health"], ["lab-patroni-patroni-yml-pg1"]);
        expectOrder(replaced, ["lab-etcd-health", "lab-patroni-reload-pg1"], ["lab-etcd-start-etcd2"]);
    }, 240_000);
});
