// The library path (PostgresHaCluster imported into a program of one's own) under pulumi.runtime.setMocks:
// a bad argument — the spec, an empty secret, a missing connection — is a ClusterConfigError (a RunError:
// Pulumi prints it without stack frames) thrown before the component or any child is registered.
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { PostgresHaCluster, sshConnections, type PostgresHaClusterArgs } from "../components/postgres-ha-cluster";
import { ClusterConfigError } from "../model/validate";
import type { ClusterSpec } from "../model/types";

const registered: string[] = [];

beforeAll(async () => {
    await pulumi.runtime.setMocks(
        {
            newResource: (args) => {
                registered.push(`${args.type}::${args.name}`);
                return { id: `${args.name}-id`, state: args.inputs };
            },
            call: (args) => args.inputs,
        },
        "library-test",
        "test",
        true,
    );
});

const cluster = (): ClusterSpec => ({
    hosts: {
        etcd: [1, 2, 3].map((i) => ({ name: `etcd${i}`, address: `10.0.0.1${i}` })),
        patroni: [1, 2, 3].map((i) => ({ name: `pg${i}`, address: `10.0.0.2${i}` })),
        haproxy: [1, 2].map((i) => ({ name: `lb${i}`, address: `10.0.0.3${i}` })),
    },
    keepalived: { vip: "10.0.0.50" },
});

const args = (change: (a: PostgresHaClusterArgs) => void = () => undefined): PostgresHaClusterArgs => {
    const spec = cluster();
    const a: PostgresHaClusterArgs = { cluster: spec, connections: sshConnections(spec, { user: "root", privateKey: pulumi.secret("key") }) };
    change(a);
    return a;
};

/** What constructing the component threw, and what it registered (after the registrations have had time to go out). */
async function construct(name: string, a: PostgresHaClusterArgs): Promise<{ error: unknown; registered: string[] }> {
    const before = registered.length;
    let error: unknown;
    try {
        new PostgresHaCluster(name, a);
    } catch (e) {
        error = e;
    }
    await new Promise((r) => setTimeout(r, 200));
    return { error, registered: registered.slice(before) };
}

describe("PostgresHaCluster validates before it registers anything", () => {
    const bad: Array<[string, (a: PostgresHaClusterArgs) => void, RegExp]> = [
        ["a bad spec", (a) => (a.cluster.patroni = { ttlSec: 5 }), /args\.cluster\.patroni\.ttlSec: must be at least 20 seconds/],
        ["an empty supplied password", (a) => (a.secrets = { superuserPassword: "  " }), /args\.secrets\.superuserPassword: is empty .*Fix: pass a non-empty value, or leave it out/],
        ["a password for a role that does not exist", (a) => (a.secrets = { userPasswords: { ghost: "x" } }), /args\.secrets\.userPasswords\.ghost: names no role in cluster\.users/],
        ["a host without a connection", (a) => delete a.connections.pg2, /args\.connections: has no SSH connection for host pg2/],
        ["a front door address with a VIP", (a) => (a.frontDoorAddress = "lb.example.com"), /args\.frontDoorAddress: is only used with cluster\.frontDoor external/],
    ];
    for (const [what, change, message] of bad) {
        it(`${what}: a ClusterConfigError, printed without frames, and nothing registered`, async () => {
            const { error, registered: made } = await construct(`bad-${what.toLowerCase().replace(/\W+/g, "-")}`, args(change));
            expect(error).toBeInstanceOf(ClusterConfigError);
            expect(pulumi.RunError.isInstance(error)).toBe(true);
            expect((error as Error).message).toMatch(message);
            expect(made).toEqual([]);
        });
    }

    it("a good one registers the component and its children (the control)", async () => {
        const { error, registered: made } = await construct("good", args());
        expect(error).toBeUndefined();
        expect(made).toContain("pulumi-patroni:index:PostgresHaCluster::good");
        expect(made.length).toBeGreaterThan(20);
    });
});

describe("a retired secret", () => {
    it("args.secrets.keepalivedPassword is warned about (VRRPv3 has no password) and reaches no resource", async () => {
        const warnings: string[] = [];
        const spy = vi.spyOn(console, "warn").mockImplementation((...m: unknown[]) => void warnings.push(m.join(" ")));
        try {
            const { error, registered: made } = await construct("retired", args((a) => (a.secrets = { keepalivedPassword: "Old-Vrrp-7" })));
            expect(error).toBeUndefined();
            expect(warnings.filter((w) => w.includes("args.secrets.keepalivedPassword: is no longer used: Keepalived speaks VRRPv3"))).toHaveLength(1);
            expect(made.some((r) => r.includes("keepalived-password"))).toBe(false);
            expect(made.length).toBeGreaterThan(10);
        } finally {
            spy.mockRestore();
        }
    });
});
