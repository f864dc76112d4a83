// The provider boundary (STYLE 13): the core — model/, render/, components/ and the core's
// templates/ — names no provider and imports none. A provider's code and templates live under
// providers/<name>/ and reach the core only through the hooks it takes: a StackProvider for the
// program, a VipMover for the balancers, a data volume's mount step for the hosts. A provider made
// up here, through those hooks alone, gets its settings read, its VIP moved and its volumes mounted.
import * as fs from "fs";
import * as path from "path";
import { describe, expect, it } from "vitest";
import { parseStackConfig, type StackProvider } from "../model/config";
import type { ClusterSpec, VipMover } from "../model/types";
import { ClusterConfigError, resolveValidCluster } from "../model/validate";
import { renderClusterFiles } from "../render/bundle";
import { installScript, proxyFiles, proxyStartScript, appliedFiles } from "../render/files";
import { placeholderSecrets } from "../render/plan";
import { readStackFile } from "../tools/render";

const REPO_ROOT = path.resolve(__dirname, "..");
const CORE_DIRS = ["model", "render", "components", "templates"];

/** Every file under the core's folders, as a path from the repository's root. */
function coreFiles(): string[] {
    return CORE_DIRS.flatMap((dir) =>
        fs
            .readdirSync(path.join(REPO_ROOT, dir), { recursive: true, withFileTypes: true })
            .filter((d) => d.isFile())
            .map((d) => path.relative(REPO_ROOT, path.join(d.parentPath, d.name))),
    );
}

/** AWS's names: the cloud, its services and APIs (the EC2 API, EBS volumes, ENIs, the metadata service). */
const AWS_NAMES = /(?<![a-z])(aws|imds)|(?<![a-z0-9])(amazon|ec2|ebs|eni)(?![a-z])/i;

/** An import or require of anything under providers/. */
const PROVIDER_IMPORT = /(\bfrom\s+|\bimport\s*\(?\s*|\brequire\s*\(\s*)["'][^"']*\bproviders\b/;

/** Each offending line of the core's files, as `<file>:<line>: <text>`. */
function linesMatching(pattern: RegExp): string[] {
    return coreFiles().flatMap((file) =>
        fs
            .readFileSync(path.join(REPO_ROOT, file), "utf8")
            .split("\n")
            .flatMap((line, i) => (pattern.test(line) ? [`${file}:${i + 1}: ${line.trim()}`] : [])),
    );
}

describe("the core names no provider", () => {
    it("looks at the core's sources and templates", () => {
        const files = coreFiles();
        for (const dir of CORE_DIRS) expect(files.some((f) => f.startsWith(`${dir}${path.sep}`)), dir).toBe(true);
        expect(files).toContain(path.join("templates", "notify-master.sh.hbs"));
    });

    it("imports nothing under providers/", () => {
        expect(linesMatching(PROVIDER_IMPORT)).toEqual([]);
    });

    it("has no AWS names in code, comments or templates (they belong under providers/aws/)", () => {
        expect(linesMatching(AWS_NAMES)).toEqual([]);
    });

    it("the patterns catch what they are for", () => {
        for (const line of ['import { AwsHosts } from "../providers/aws";', 'import "../providers";', 'await import("../providers/gcp")', 'const m = require("../providers")']) expect(line).toMatch(PROVIDER_IMPORT);
        for (const text of ["moveVipWith: aws-secondary-ip", "awsDataVolumes(c)", "an EBS volume", "the ENI's MAC", "IMDSv2", "the EC2 API", "AwsHosts"]) expect(text).toMatch(AWS_NAMES);
        for (const text of ["laws", "draws the VIP", "generic", "ebsilon", "Patroni's providers"]) expect(text).not.toMatch(AWS_NAMES);
    });
});

// ---------------------------------------------------------------------------------------------
// A provider of one's own, through the hooks alone
// ---------------------------------------------------------------------------------------------

const labSpec = (): ClusterSpec => JSON.parse(readStackFile("lab")["pulumi-patroni:cluster"]) as ClusterSpec;

const EXAMPLE_MOVER: VipMover = {
    name: "example-route",
    install: (release) => ({ packages: ["example-cli"], commands: [`example-cli setup --for ${release}`] }),
    notifyMaster: (vip) => ({ note: "# Moves the route of the VIP.\n", commands: `example-cli route ${vip} --here\n` }),
    units: ({ vip, notifyMasterPath }) => [
        { id: "example-service", unit: "example.service", content: `[Service]\nExecStart=${notifyMasterPath} --again ${vip}\n` },
        { id: "example-timer", unit: "example.timer", content: "[Timer]\nOnUnitActiveSec=10\n", enable: "The example route is checked every 10 s." },
    ],
    interfaceOnHost: { note: "the example interface.", script: (file) => `echo '$${file.param}=ex0' > ${file.path}\n` },
};

describe("a VIP mover of one's own", () => {
    const spec = labSpec();
    spec.keepalived = { ...spec.keepalived!, moveVipWith: EXAMPLE_MOVER.name };
    const c = resolveValidCluster(spec, "lab", "cluster", [EXAMPLE_MOVER]);
    const lb1 = c.hosts.haproxy[0];
    const files = proxyFiles(c, lb1);
    const file = (id: string) => files.find((f) => f.id === id)!;

    it("writes its part of notify_master, its units, and Keepalived's interface as it finds it", () => {
        // Its note under the script's head; its commands before the spec's own notifyMasterCommand.
        const vip = c.keepalived!.vip;
        expect(file("notify-master").content).toBe(
            `#!/bin/bash\n# Run by keepalived when this node becomes MASTER for the VIP ${vip}.\n# Moves the route of the VIP.\nset -euo pipefail\n` +
                `exec > >(logger -t pgha-notify-master) 2>&1\nexample-cli route ${vip} --here\n${c.keepalived!.notifyMasterCommand}\n`,
        );
        expect(file("example-timer")).toMatchObject({ path: "/etc/systemd/system/example.timer", reloadSystemd: true });
        expect(file("example-service").content).toContain("ExecStart=/etc/keepalived/notify-master.sh --again");
        const conf = file("keepalived-conf").content;
        expect(conf).toContain("# Defines $PGHA_INTERFACE: the example interface.\ninclude /etc/keepalived/pgha-interface.conf\n");
        expect(conf).toMatch(/^    interface \$PGHA_INTERFACE$/m);
    });

    it("installs what it needs, and the start step enables the units it asks for", () => {
        expect(installScript(c, "haproxy", lb1)).toMatch(/install_packages haproxy keepalived .*example-cli\nexample-cli setup --for debian13\n/);
        const start = proxyStartScript(c, lb1, appliedFiles(files));
        expect(start).toContain("# The example route is checked every 10 s.\nsystemctl enable --now example.timer");
        expect(start).not.toContain("enable --now example.service");
        const rendered = renderClusterFiles(c);
        expect(rendered.get("lb1/steps/04-proxy-interface.sh")).toBe("echo '$PGHA_INTERFACE=ex0' > /etc/keepalived/pgha-interface.conf\n");
    });

    it("is refused by name unless the cluster is given it", () => {
        expect(() => resolveValidCluster(spec, "lab")).toThrow(ClusterConfigError);
        expect(() => resolveValidCluster(spec, "lab")).toThrow(/cluster\.keepalived\.moveVipWith: names no VIP mover the cluster was given \(known: "none"\) \(got "example-route"\)/);
    });
});

describe("a stack provider of one's own", () => {
    /** Plans the lab's hosts from a member count, with a data volume on every Patroni member. */
    const example: StackProvider = {
        name: "example",
        validate: ({ settings, at }) => ((settings as { members?: unknown })?.members === 3 ? [] : [{ setting: `${at.settings}.members`, value: (settings as { members?: unknown })?.members, rule: "must be 3", fix: "use 3" }]),
        plan: (_settings, cluster) => ({ machines: { planned: true }, clusterSpec: { ...labSpec(), ...cluster, keepalived: { ...labSpec().keepalived!, moveVipWith: EXAMPLE_MOVER.name } } }),
        vipMovers: [EXAMPLE_MOVER],
        offlineDataVolumes: (c) => Object.fromEntries(c.hosts.patroni.map((h) => [h.name, { volumeId: `disk-${h.name}`, mountScript: (id: string) => `mount-example ${id}\n` }])),
    };
    const config = (settings: unknown): Record<string, string> => ({
        "pulumi-patroni:provider": "example",
        "pulumi-patroni:example": JSON.stringify(settings),
        "pulumi-patroni:cluster": JSON.stringify({ scope: "ex" }),
    });

    it("reads its settings, plans the cluster with its mover, and mounts its volumes before installing", () => {
        const s = parseStackConfig(config({ members: 3 }), "ex", [example]);
        expect(s).toMatchObject({ provider: "example", machines: { provider: example, plan: { planned: true } }, vipMovers: [EXAMPLE_MOVER] });
        expect(s.cluster.keepalived!.moveVipWith).toBe(EXAMPLE_MOVER);
        const rendered = renderClusterFiles(s.cluster, placeholderSecrets(s.cluster), example.offlineDataVolumes!(s.cluster));
        expect(rendered.get("pg1/steps/03-patroni-mount-data.sh")).toBe("mount-example disk-pg1\n");
        expect(rendered.get("pg1/steps/plan.yaml")).toMatch(/step: 04-patroni-install\n {2}waitsFor:\n {4}- patroni-ready\n {4}- patroni-mount-data\n/);
    });

    it("reports its own issues, and its settings are refused with another provider", () => {
        expect(() => parseStackConfig(config({ members: 2 }), "ex", [example])).toThrow(/pulumi-patroni:example\.members: must be 3 \(got 2\)/);
        const elsewhere = { ...config({ members: 3 }), "pulumi-patroni:provider": "existing", "pulumi-patroni:cluster": JSON.stringify(labSpec()) };
        expect(() => parseStackConfig(elsewhere, "lab", [example])).toThrow(/pulumi-patroni:example: is only read with provider example/);
        expect(() => parseStackConfig(config({ members: 3 }), "ex", [])).toThrow(/pulumi-patroni:provider: must be "existing" \(got "example"\)/);
    });
});
