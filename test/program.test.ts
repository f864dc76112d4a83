// The program (index.ts) under mocks: resource names and parents, creation order behind the health
// gates (recorded under a slow mock), secrecy of every secret-bearing input, and the outputs.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { beforeAll, describe, expect, it } from "vitest";
import { loadStackConfig, runProgram, RunResult, stepReports, type EngineEvent } from "../tools/engine";
import { parseStackConfig } from "../model/config";
import { STACK_PROVIDERS } from "../providers";
import type { ClusterSecrets } from "../model/types";
import { clusterPlan, stepText } from "../render/plan";
import { expectStepOrder, planStack, resourceNamed, stepResourceName, upLab, upstreamOf } from "./helpers/stack";

const REPO_ROOT = path.resolve(__dirname, "..");
const PROGRAM = path.join(REPO_ROOT, "index.ts");
const SLOW_HANDLERS = path.join(__dirname, "fixtures", "slow-handlers.ts");

/** Supplied secrets with text we can search for. */
const SUPPLIED = {
    "pulumi-patroni:superuserPassword": "Supplied-Superuser-Secret-1",
    "pulumi-patroni:restApiPassword": "Supplied-RestApi-Secret-2",
};

function planLab(extraConfig: Record<string, unknown>, secretKeys: string[], delayMs: number): Promise<RunResult> {
    return planStack("lab", extraConfig, secretKeys, delayMs);
}

const get = resourceNamed;

const ETCD = ["etcd1", "etcd2", "etcd3"];
const PG = ["pg1", "pg2", "pg3"];
const LB = ["lb1", "lb2"];

describe("the lab stack under a slow mock", () => {
    let run: RunResult;
    beforeAll(async () => {
        run = await planLab(SUPPLIED, Object.keys(SUPPLIED), 40);
    }, 180_000);

    const expectOrder = (before: string[], after: string[]) => expectStepOrder(run.resources, before, after);

    it("names children <component>-<role>[-<host>] and parents them to their component", () => {
        const parentOf = (n: string) => get(run.resources, n).parent;
        expect(get(run.resources, "lab").type).toBe("pulumi-patroni:index:PostgresHaCluster");
        for (const [component, type] of [
            ["lab-etcd", "EtcdCluster"],
            ["lab-patroni", "PatroniCluster"],
            ["lab-proxy", "HaproxyKeepalived"],
        ]) {
            expect(get(run.resources, component).type).toBe(`pulumi-patroni:index:${type}`);
            expect(parentOf(component)).toBe("lab");
        }
        for (const h of ETCD) for (const step of ["ready", "install", "etcd-conf", "etcd-dropin", "start"]) expect(parentOf(`lab-etcd-${step}-${h}`)).toBe("lab-etcd");
        for (const h of PG) for (const step of ["ready", "install", "patroni-yml", "patroni-dropin", "start"]) expect(parentOf(`lab-patroni-${step}-${h}`)).toBe("lab-patroni");
        for (const h of LB) for (const step of ["ready", "install", "haproxy-cfg", "check-haproxy", "keepalived-conf", "start"]) expect(parentOf(`lab-proxy-${step}-${h}`)).toBe("lab-proxy");
        expect(parentOf("lab-etcd-health")).toBe("lab-etcd");
        expect(parentOf("lab-patroni-leader")).toBe("lab-patroni");
        expect(parentOf("lab-patroni-replicas")).toBe("lab-patroni");
        expect(parentOf("lab-proxy-vip")).toBe("lab-proxy");
        expect(parentOf("lab-roles")).toBe("lab");
        const unknownTypes = run.resources.filter((r) => !/^(pulumi-patroni:index:|command:remote:Command$|random:index\/randomPassword:RandomPassword$|random:index\/randomId:RandomId$|tls:index\/(privateKey:PrivateKey|selfSignedCert:SelfSignedCert|certRequest:CertRequest|locallySignedCert:LocallySignedCert)$)/.test(r.type));
        expect(unknownTypes.map((r) => `${r.name}: ${r.type}`)).toEqual([]);
    });

    it("installs on all hosts at once: no install waits, even indirectly, for another", () => {
        // A property of the graph, not of timings (a loaded 2-core machine blurs those); that the
        // engine runs independent resources in parallel is test/engine/plan.test.ts's.
        const installs = [...ETCD.map((h) => `lab-etcd-install-${h}`), ...PG.map((h) => `lab-patroni-install-${h}`), ...LB.map((h) => `lab-proxy-install-${h}`)];
        const upstream = (name: string) => upstreamOf(run.resources, name);
        for (const install of installs) expect([...upstream(install)].filter((n) => installs.includes(n)), install).toEqual([]);
    });

    it("waits for SSH readiness before installing, and installs before writing configs", () => {
        for (const h of ETCD) expectOrder([`lab-etcd-ready-${h}`], [`lab-etcd-install-${h}`]);
        for (const h of ETCD) expectOrder([`lab-etcd-install-${h}`], [`lab-etcd-etcd-conf-${h}`]);
        for (const h of PG) expectOrder([`lab-patroni-install-${h}`], [`lab-patroni-patroni-yml-${h}`]);
        for (const h of LB) expectOrder([`lab-proxy-install-${h}`, `lab-proxy-check-haproxy-${h}`], [`lab-proxy-keepalived-conf-${h}`]);
    });

    it("starts every etcd member before the health gate, and Patroni only after it", () => {
        expectOrder(ETCD.map((h) => `lab-etcd-start-${h}`), ["lab-etcd-health"]);
        // patroni --validate-config checks that etcd answers: configs are written after the gate.
        expectOrder(["lab-etcd-health"], [...PG.map((h) => `lab-patroni-patroni-yml-${h}`), "lab-patroni-start-pg1"]);
    });

    it("starts the first member, waits for it to lead, then starts the others one after the other (so their deletes run one at a time)", () => {
        expectOrder(["lab-patroni-start-pg1"], ["lab-patroni-leader"]);
        expectOrder(["lab-patroni-leader"], ["lab-patroni-start-pg2", "lab-patroni-start-pg3"]);
        expectOrder(["lab-patroni-start-pg2"], ["lab-patroni-start-pg3"]);
        expectOrder(["lab-patroni-start-pg2", "lab-patroni-start-pg3"], ["lab-patroni-replicas"]);
        // A member starts only once every member's pg_hba admits it (a running member reloads first).
        expectOrder(PG.map((h) => `lab-patroni-reload-${h}`), PG.map((h) => `lab-patroni-start-${h}`));
        // A leader the stack no longer has hands over before the settings and the front door change.
        expectOrder(["lab-patroni-start-pg2", "lab-patroni-start-pg3"], ["lab-patroni-handover"]);
        expectOrder(["lab-patroni-handover"], ["lab-patroni-dcs-config"]);
    });

    it("starts HAProxy and Keepalived after the replicas gate, then checks the VIP, then creates roles", () => {
        expectOrder(["lab-patroni-replicas"], LB.map((h) => `lab-proxy-start-${h}`));
        expectOrder(LB.map((h) => `lab-proxy-start-${h}`), ["lab-proxy-vip"]);
        expectOrder(["lab-proxy-vip"], ["lab-roles"]);
    });

    it("keeps every secret-bearing input secret and out of every command line", () => {
        const secretInputs = (name: string) => get(run.resources, name).secretInputPaths.map((p) => p.join("."));
        for (const h of PG) expect(secretInputs(`lab-patroni-patroni-yml-${h}`)).toContain("stdin");
        // keepalived.conf holds no secret (VRRPv3 has no password): its changes show in a preview.
        for (const h of LB) expect(secretInputs(`lab-proxy-keepalived-conf-${h}`)).not.toContain("stdin");
        expect(secretInputs("lab-proxy-vip")).toContain("stdin");
        expect(secretInputs("lab-roles")).toContain("stdin");
        for (const r of run.resources.filter((r) => r.type === "command:remote:Command")) {
            expect(secretInputs(r.name), `${r.name}: connection is secret`).toContain("connection");
        }

        const generated = run.resources
            .filter((r) => r.type === "random:index/randomPassword:RandomPassword")
            .map((r) => String(r.outputs.result));
        expect(generated.length).toBe(4); // 6 secrets (5 cluster + role app), superuser and restapi supplied
        const secrets = [...Object.values(SUPPLIED), ...generated];
        const patroniYml = String(get(run.resources, "lab-patroni-patroni-yml-pg1").inputs.stdin);
        expect(patroniYml).toContain(SUPPLIED["pulumi-patroni:superuserPassword"]);
        expect(patroniYml).toContain(SUPPLIED["pulumi-patroni:restApiPassword"]);
        for (const r of run.resources.filter((r) => r.type === "command:remote:Command")) {
            for (const field of ["create", "update", "delete"]) {
                const text = String(r.inputs[field] ?? "");
                for (const s of secrets) expect(text.includes(s), `${r.name}.${field} contains a secret`).toBe(false);
            }
            const env = JSON.stringify(r.inputs.environment ?? {});
            for (const s of secrets) expect(env.includes(s), `${r.name}.environment contains a secret`).toBe(false);
            // A secret must never sit in an input that is not itself secret.
            for (const [field, value] of Object.entries(r.inputs)) {
                const paths = r.secretInputPaths.map((p) => p[0]);
                if (paths.includes(field)) continue;
                for (const s of secrets) expect(JSON.stringify(value).includes(s), `${r.name}.${field} holds a secret in the clear`).toBe(false);
            }
        }
    });

    it("exports the endpoints, and the connection string and passwords as secrets", () => {
        expect(run.outputs.writerEndpoint).toBe("10.251.17.50:5000");
        expect(run.outputs.readerEndpoint).toBe("10.251.17.50:5001");
        expect(run.outputs.statsUrl).toBe("http://10.251.17.50:7000/");
        expect(run.outputs.etcdEndpoints).toEqual(["https://10.251.17.11:2379", "https://10.251.17.12:2379", "https://10.251.17.13:2379"]);
        // TLS (the default): the client verifies the front door against the exported CA.
        expect(run.outputs.connectionString).toBe(
            `postgresql://postgres:${SUPPLIED["pulumi-patroni:superuserPassword"]}@10.251.17.50:5000/postgres?sslmode=verify-full&target_session_attrs=read-write`,
        );
        expect(run.outputs.caCertificate).toBe(get(run.resources, "lab-tls-ca").outputs.certPem);
        expect(run.secretOutputs).not.toContain("caCertificate");
        expect(run.secretOutputs).toEqual(expect.arrayContaining(["connectionString", "superuserPassword", "adminPassword"]));
        expect(run.secretOutputs).not.toContain("writerEndpoint");
        const nodes = run.outputs.nodes as Array<{ name: string; address: string; roles: string[]; patroniRole?: string }>;
        expect(nodes.map((n) => n.name)).toEqual([...ETCD, ...PG, ...LB]);
        expect(nodes.find((n) => n.name === "pg1")).toMatchObject({ address: "10.251.17.21", roles: ["patroni"], patroniRole: "leader" });
        // The lab runs Debian 13, whose Patroni 4 makes quorum the default synchronous mode.
        expect(nodes.find((n) => n.name === "pg2")?.patroniRole).toBe("quorum_standby");
        expect(nodes.find((n) => n.name === "lb1")).toEqual({ name: "lb1", address: "10.251.17.31", roles: ["haproxy"] });
    });
});

describe("SSH key files", () => {
    it("a key path under ~ (the onprem-rhel stack's ~/.ssh/pgha_ed25519) is read from the home directory of whoever runs the program", async () => {
        const home = fs.mkdtempSync(path.join(os.tmpdir(), "program-home-"));
        fs.mkdirSync(path.join(home, ".ssh"));
        fs.writeFileSync(path.join(home, ".ssh", "pgha_ed25519"), "KEY-FROM-HOME\n", { mode: 0o600 });
        const saved = process.env.HOME;
        process.env.HOME = home;
        try {
            const { config, secretKeys } = loadStackConfig("onprem-rhel");
            expect(fs.readFileSync(path.join(REPO_ROOT, "stacks", "Pulumi.onprem-rhel.yaml"), "utf8")).toContain("privateKeyFile: ~/.ssh/pgha_ed25519");
            const run = await runProgram({
                programPath: PROGRAM,
                stack: "onprem-rhel",
                config,
                secretKeys,
                mode: "plan",
                timeoutMs: 120_000,
                handlersModule: SLOW_HANDLERS,
                handlerOptions: { delayMs: 0 },
                onProgramOutput: () => undefined,
            });
            const commands = run.resources.filter((r) => r.type === "command:remote:Command");
            expect(commands.length).toBeGreaterThan(10);
            for (const r of commands) expect((r.inputs.connection as { privateKey: string }).privateKey, r.name).toBe("KEY-FROM-HOME\n");
        } finally {
            process.env.HOME = saved;
        }
    }, 120_000);
});

describe("warnings before anything is created", () => {
    it("the Debian 12 lab (Patroni 3.0.2, no watchdog in containers) is warned about a frozen primary, before the first resource, as the CLI shows diagnostics", async () => {
        const events: EngineEvent[] = [];
        const run = await planStack("lab-debian12", {}, [], 0, undefined, (e) => events.push(e));
        expect(run.diagnostics).toHaveLength(1);
        expect(run.diagnostics[0].severity).toBe("warning");
        expect(run.diagnostics[0].message).toMatch(/^pulumi-patroni:cluster\.patroni\.watchdog: debian12's Patroni \(3\.0\.2\) predates 3\.0\.3.* \(got "automatic"\)\. Fix: set pulumi-patroni:cluster\.patroni\.watchdog: required/);
        const first = events.findIndex((e) => e.kind === "start");
        const warned = events.findIndex((e) => e.kind === "diagnostic");
        expect(warned).toBeGreaterThanOrEqual(0);
        expect(warned).toBeLessThan(first);
        expect(run.resources.length).toBeGreaterThan(10);
    }, 120_000);

    it("the Debian 13 lab (Patroni 4.0.7, with the fix) is not", async () => {
        const run = await planStack("lab", {}, [], 0);
        expect(run.diagnostics).toEqual([]);
    }, 120_000);

    it("a stack that still sets the retired keepalivedPassword is told to remove it, and the password reaches no resource", async () => {
        const old = "Old-Vrrp-Pass-9";
        const run = await planStack("lab", { "pulumi-patroni:keepalivedPassword": old }, ["pulumi-patroni:keepalivedPassword"], 0);
        expect(run.diagnostics.map((d) => [d.severity, d.message])).toEqual([
            ["warning", expect.stringMatching(/^pulumi-patroni:keepalivedPassword: is no longer used: Keepalived speaks VRRPv3, which has no authentication .*Fix: remove it: pulumi config rm pulumi-patroni:keepalivedPassword$/)],
        ]);
        expect(JSON.stringify(run.resources)).not.toContain(old);
        expect(run.resources.some((r) => r.name.includes("keepalived-password"))).toBe(false);
    }, 120_000);
});

describe("what the hosts get is the plan `npm run render` writes", () => {
    it("every command of the lab stack is one plan step: same script, standard input, delete command and waits", async () => {
        const secrets: ClusterSecrets = {
            superuserPassword: "Plan-Superuser-1",
            replicationPassword: "Plan-Replication-2",
            rewindPassword: "Plan-Rewind-3",
            adminPassword: "Plan-Admin-4",
            restApiPassword: "Plan-RestApi-5",
            userPasswords: { app: "Plan-App-7" },
            scramSalts: {},
        };
        const supplied = {
            "pulumi-patroni:superuserPassword": secrets.superuserPassword,
            "pulumi-patroni:replicationPassword": secrets.replicationPassword,
            "pulumi-patroni:rewindPassword": secrets.rewindPassword,
            "pulumi-patroni:adminPassword": secrets.adminPassword,
            "pulumi-patroni:restApiPassword": secrets.restApiPassword,
            "pulumi-patroni:userPasswords": JSON.stringify(secrets.userPasswords),
        };
        const run = await planLab(supplied, Object.keys(supplied), 0);
        // Each role's SCRAM salt is random, kept in the state.
        for (const r of run.resources.filter((x) => x.type === "random:index/randomId:RandomId")) secrets.scramSalts[r.name.replace(/^lab-|-scram-salt$/g, "")] = String(r.outputs.b64Std);
        expect(Object.keys(secrets.scramSalts).sort()).toEqual(["admin", "app", "postgres", "replicator", "rewind_user"]);
        // The CA and each host's certificate and key, as issued in this run (a balancer only verifies: no certificate).
        const pem = (name: string, output: string) => String(get(run.resources, name).outputs[output]);
        expect(run.resources.some((r) => r.name === "lab-tls-lb1-cert")).toBe(false);
        secrets.tls = { caCert: pem("lab-tls-ca", "certPem"), hosts: Object.fromEntries([...ETCD, ...PG].map((h) => [h, { cert: pem(`lab-tls-${h}-cert`, "certPem"), key: pem(`lab-tls-${h}-key`, "privateKeyPem") }])) };
        const { config } = loadStackConfig("lab");
        const c = parseStackConfig({ ...config, ...supplied } as Record<string, string>, "lab", STACK_PROVIDERS).cluster;
        const plan = clusterPlan(c);
        const resourceName = stepResourceName(plan, "lab");
        const commands = run.resources.filter((r) => r.type === "command:remote:Command");
        expect(commands.map((r) => r.name).sort()).toEqual(plan.map((s) => resourceName(s.key)).sort());
        for (const step of plan) {
            const r = get(run.resources, resourceName(step.key));
            // A gate's script ends with the revision of the steps it checks (a hash: it runs again when they do).
            const create = String(r.inputs.create).replace(/# Checks steps at revision [0-9a-f]{64}: it runs again when any of them does\.\n$/, "");
            expect(create, `${r.name}: script`).toBe(stepText(step.script, secrets, ""));
            expect(r.inputs.update, `${r.name}: update = create`).toBe(r.inputs.create);
            expect(r.inputs.stdin, `${r.name}: stdin`).toBe(step.stdin === undefined ? undefined : stepText(step.stdin, secrets, ""));
            expect(r.inputs.delete, `${r.name}: delete`).toBe(step.onDelete);
            const waits = [...step.dependsOn, ...step.after].map(resourceName).sort();
            expect(r.waitsFor.filter((n) => commands.some((x) => x.name === n)).sort(), `${r.name}: waits for`).toEqual([...new Set(waits)].sort());
        }
    }, 180_000);
});

describe("a later pulumi up of the lab stack, under the engine stand-in's state", () => {
    /** The program against a stack state kept in `stateFile`, as successive `pulumi up`s. */
    const up = (stateFile: string, extraConfig: Record<string, unknown> = {}) => upLab(stateFile, extraConfig);
    const changes = (r: RunResult) =>
        stepReports(r)
            .filter((s) => s.op !== "same")
            .map((s) => `${s.op} ${s.name} (${s.changed?.join(", ") ?? ""})`)
            .sort();

    it("runs nothing when nothing changed, and exactly the steps whose inputs a setting changes", async () => {
        const stateFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "program-state-")), "lab.json");
        const first = await up(stateFile);
        expect(stepReports(first).every((s) => s.op === "create")).toBe(true);
        // Every input is a pure function of the config and the stored secrets (SCRAM verifiers included).
        const again = await up(stateFile);
        expect(changes(again)).toEqual([]);

        const { config } = loadStackConfig("lab");
        const cluster = JSON.parse(JSON.stringify(config["pulumi-patroni:cluster"]));
        cluster.haproxy = { ...cluster.haproxy, checkIntervalMs: 2000 };
        const changed = await up(stateFile, { "pulumi-patroni:cluster": cluster });
        // What `pulumi up` would run: the two haproxy.cfg files are written again; each balancer's
        // start step carries the files' hashes, so HAProxy and Keepalived are reloaded (one balancer
        // after the other); the VIP gate checks again. Nothing on etcd or Patroni runs.
        expect(changes(changed)).toEqual([
            "update lab-proxy-haproxy-cfg-lb1 (stdin)",
            "update lab-proxy-haproxy-cfg-lb2 (stdin)",
            "update lab-proxy-start-lb1 (create, update)",
            "update lab-proxy-start-lb2 (create, update)",
            "update lab-proxy-vip (create, update)",
        ]);
    }, 240_000);

    it("a rotated superuser password changes the role in PostgreSQL first (credentials step), then every file and login that holds it", async () => {
        const stateFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "program-state-")), "lab.json");
        await up(stateFile, { "pulumi-patroni:superuserPassword": "First-Superuser-1" });
        const changed = await up(stateFile, { "pulumi-patroni:superuserPassword": "Rotated-Superuser-2" });
        expect(changes(changed)).toEqual(
            [
                // ALTER ROLE on the primary, logging in with the new password or the one patroni.yml still holds.
                "update lab-patroni-credentials (stdin)",
                "update lab-patroni-patroni-yml-pg1 (stdin)",
                "update lab-patroni-patroni-yml-pg2 (stdin)",
                "update lab-patroni-patroni-yml-pg3 (stdin)",
                "update lab-patroni-reload-pg1 (create, update)",
                "update lab-patroni-reload-pg2 (create, update)",
                "update lab-patroni-reload-pg3 (create, update)",
                "update lab-patroni-handover (create, update)",
                "update lab-patroni-dcs-config (create, update)",
                "update lab-patroni-replicas (create, update)",
                "update lab-proxy-vip (create, stdin, update)",
                "update lab-roles (stdin)",
            ].sort(),
        );
        // No member's patroni.yml (which Patroni logs in with after its reload) is written before the role changed.
        for (const h of PG) expect(get(changed.resources, `lab-patroni-patroni-yml-${h}`).waitsFor).toContain("lab-patroni-credentials");
        const stdin = String(get(changed.resources, "lab-patroni-credentials").inputs.stdin);
        expect(stdin.split("\n")[0]).toBe("Rotated-Superuser-2");
        expect(stdin).toMatch(/^ALTER ROLE "postgres" WITH PASSWORD 'SCRAM-SHA-256\$4096:/m);
        expect(stdin.split("\n").slice(1).join("\n")).not.toContain("Rotated-Superuser-2");
    }, 240_000);

    it("a PostgreSQL parameter reaches the DCS through the dcs-config step, and every gate after it checks again", async () => {
        const stateFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "program-state-")), "lab.json");
        await up(stateFile);
        const { config } = loadStackConfig("lab");
        const cluster = JSON.parse(JSON.stringify(config["pulumi-patroni:cluster"]));
        cluster.patroni = { ...cluster.patroni, parameters: { ...cluster.patroni?.parameters, max_connections: 150 } };
        const changed = await up(stateFile, { "pulumi-patroni:cluster": cluster });
        expect(changes(changed)).toEqual([
            // patroni.yml's bootstrap.dcs holds it too (read only when a cluster is created): the files
            // change and Patroni reloads them, which is harmless.
            "update lab-patroni-dcs-config (create, update)",
            "update lab-patroni-patroni-yml-pg1 (stdin)",
            "update lab-patroni-patroni-yml-pg2 (stdin)",
            "update lab-patroni-patroni-yml-pg3 (stdin)",
            "update lab-patroni-replicas (create, update)",
            "update lab-patroni-reload-pg1 (create, update)",
            "update lab-patroni-reload-pg2 (create, update)",
            "update lab-patroni-reload-pg3 (create, update)",
            "update lab-patroni-handover (create, update)",
            "update lab-proxy-vip (create, update)",
        ].sort());
        const dcs = get(changed.resources, "lab-patroni-dcs-config");
        expect(String(dcs.inputs.create)).toContain('"max_connections":150');
    }, 240_000);
});
