// The library as a platform team gets it: `npm pack` (which builds bin/ through `prepare`), the
// tarball installed into a project of its own in another directory (its runtime dependencies from
// the registry, @pulumi/pulumi as the consumer's own peer), a small program type-checked against the
// shipped declarations with `tsc --strict`, then run under pulumi.runtime.setMocks: it builds a
// cluster from the package's components and renders a host's files with the package's renderer.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { beforeAll, describe, expect, it } from "vitest";

const REPO_ROOT = path.resolve(__dirname, "..");
const TSC = path.join(REPO_ROOT, "node_modules", "typescript", "bin", "tsc");

function run(command: string, args: string[], cwd: string): string {
    const r = spawnSync(command, args, { cwd, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
    if (r.status !== 0) throw new Error(`${command} ${args.join(" ")} (in ${cwd}) exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
    return r.stdout;
}

const PROGRAM = `
import * as pulumi from "@pulumi/pulumi";
import { PostgresHaCluster, sshConnections, renderHostBundle, resolveValidCluster, type ClusterSpec } from "pulumi-patroni";

const spec: ClusterSpec = {
    hosts: {
        etcd: [{ name: "e1", address: "10.9.0.11" }, { name: "e2", address: "10.9.0.12" }, { name: "e3", address: "10.9.0.13" }],
        patroni: [{ name: "p1", address: "10.9.0.21" }, { name: "p2", address: "10.9.0.22" }],
        haproxy: [{ name: "l1", address: "10.9.0.31" }, { name: "l2", address: "10.9.0.32" }],
    },
    keepalived: { vip: "10.9.0.50" },
};

const created: string[] = [];
pulumi.runtime.setMocks(
    {
        newResource: (args) => {
            created.push(args.type);
            return { id: args.name + "-id", state: { ...args.inputs, result: "generated-secret-0123456789abcdef", b64Std: "AAAAAAAAAAAAAAAAAAAAAA==", stdout: "" } };
        },
        call: () => ({}),
    },
    "consumer",
    "dev",
    true,
);

const cluster = new PostgresHaCluster("db", { cluster: spec, connections: sshConnections(spec, { user: "root", privateKey: "not-a-key" }) });
cluster.writerEndpoint.apply((endpoint) => {
    const files = renderHostBundle(cluster.resolved, "p1", {
        superuserPassword: "s", replicationPassword: "r", rewindPassword: "w", adminPassword: "a", restApiPassword: "x",
        userPasswords: {},
        scramSalts: Object.fromEntries(["postgres", "replicator", "rewind_user", "admin"].map((role) => [role, "AAAAAAAAAAAAAAAAAAAAAA=="])),
        // TLS is the default: the CA and every host's certificate and key.
        tls: { caCert: "ca", hosts: Object.fromEntries([...cluster.resolved.hosts.etcd, ...cluster.resolved.hosts.patroni, ...cluster.resolved.hosts.haproxy].map((h) => [h.name, { cert: "cert", key: "key" }])) },
    });
    setTimeout(() => {
        console.log(JSON.stringify({
            endpoint,
            commands: created.filter((t) => t === "command:remote:Command").length,
            patroniYml: files.some((f) => f.path === "etc/patroni/config.yml"),
            plan: files.some((f) => f.path === "steps/plan.yaml"),
            os: resolveValidCluster(spec, "db").os,
        }));
    }, 500);
    return endpoint;
});
`;

describe("the packed library in a project of its own", () => {
    let consumer: string;
    let manifest: { dependencies?: Record<string, string>; peerDependencies?: Record<string, string>; files?: string[] };
    beforeAll(() => {
        const work = fs.mkdtempSync(path.join(os.tmpdir(), "pulumi-patroni-consumer-"));
        const tarball = run("npm", ["pack", "--silent", "--pack-destination", work], REPO_ROOT).trim().split("\n").pop()!;
        consumer = path.join(work, "app");
        fs.mkdirSync(consumer);
        manifest = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "package.json"), "utf8"));
        fs.writeFileSync(
            path.join(consumer, "package.json"),
            JSON.stringify({ name: "consumer", private: true, dependencies: { "pulumi-patroni": `file:${path.join(work, tarball)}`, "@pulumi/pulumi": manifest.peerDependencies!["@pulumi/pulumi"] } }, null, 2),
        );
        run("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", "--silent"], consumer);
        fs.writeFileSync(path.join(consumer, "index.ts"), PROGRAM);
        fs.writeFileSync(
            path.join(consumer, "tsconfig.json"),
            JSON.stringify({ compilerOptions: { strict: true, target: "ES2022", module: "commonjs", moduleResolution: "node", esModuleInterop: true, outDir: "out", types: [] }, files: ["index.ts"] }),
        );
    }, 600_000);

    it("ships the compiled library and its templates, and depends at run time only on what the library uses", () => {
        const installed = path.join(consumer, "node_modules", "pulumi-patroni");
        expect(fs.existsSync(path.join(installed, "bin", "lib.js"))).toBe(true);
        expect(fs.existsSync(path.join(installed, "bin", "lib.d.ts"))).toBe(true);
        expect(fs.existsSync(path.join(installed, "templates", "patroni-dcs-config.sh.hbs"))).toBe(true);
        expect(fs.existsSync(path.join(installed, "providers", "aws", "templates", "mount-data.sh.hbs"))).toBe(true);
        expect(fs.existsSync(path.join(installed, "providers", "aws", "vip.ts"))).toBe(false);
        // The engine stand-in (tools/) and its SSH client are the project's own, not the library's.
        expect(fs.existsSync(path.join(installed, "bin", "tools"))).toBe(false);
        expect(Object.keys(manifest.dependencies ?? {}).sort()).toEqual(["@pulumi/aws", "@pulumi/command", "@pulumi/random", "@pulumi/tls", "handlebars", "yaml"]);
        expect(Object.keys(manifest.peerDependencies ?? {})).toEqual(["@pulumi/pulumi"]);
    });

    it("type-checks a program against the shipped declarations (tsc --strict), and builds and renders a cluster under mocks", () => {
        run(process.execPath, [TSC, "-p", "tsconfig.json"], consumer);
        const out = JSON.parse(run(process.execPath, [path.join("out", "index.js")], consumer).trim().split("\n").pop()!);
        expect(out).toEqual({ endpoint: "10.9.0.50:5000", commands: expect.any(Number), patroniYml: true, plan: true, os: "debian13" });
        expect(out.commands).toBeGreaterThan(30);
    }, 120_000);
});
