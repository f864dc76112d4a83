// Validation of the cluster spec and of the stack config: every rule names the setting, the value
// received and the fix, and a typo or a wrong type is never silently ignored.
import { describe, expect, it } from "vitest";
import { parseStackConfig } from "../model/config";
import { STACK_PROVIDERS } from "../providers";
import { resolveCluster } from "../model/resolve";
import type { ClusterSpec, HostSpec } from "../model/types";
import {
  CLUSTER_SCHEMA,
  ClusterConfigError,
  clusterWarnings,
  formatIssue,
  resolveValidCluster,
  validateCluster,
  type Schema,
  type ValidationIssue,
} from "../model/validate";
import { readStackFile, readStackSettings } from "../tools/render";

const ROOT = "cluster";

const host = (name: string, address: string): HostSpec => ({ name, address });

/** Three etcd, three Patroni and two HAProxy hosts in 10.0.0.0/24: valid as it stands. */
function minimalSpec(): ClusterSpec {
  return {
    hosts: {
      etcd: [host("etcd1", "10.0.0.11"), host("etcd2", "10.0.0.12"), host("etcd3", "10.0.0.13")],
      patroni: [host("pg1", "10.0.0.21"), host("pg2", "10.0.0.22"), host("pg3", "10.0.0.23")],
      haproxy: [host("lb1", "10.0.0.31"), host("lb2", "10.0.0.32")],
    },
    keepalived: { vip: "10.0.0.50" },
  };
}

/** The minimal spec after `mutate` has changed a fresh copy of it. */
function specWith(mutate: (spec: ClusterSpec) => void): ClusterSpec {
  const spec = minimalSpec();
  mutate(spec);
  return spec;
}

function issuesOf(spec: unknown): ValidationIssue[] {
  return validateCluster(spec, "test", ROOT);
}

/**
 * The one issue reported for `setting`, whose formatted message carries the setting, the value
 * received and the fix text.
 */
function expectIssue(issues: ValidationIssue[], setting: string, expected: { value?: unknown; fix: string | RegExp; rule?: string | RegExp }): string {
  const matching = issues.filter((i) => i.setting === setting);
  expect(matching, `an issue for ${setting} among: ${issues.map(formatIssue).join(" | ") || "(none)"}`).toHaveLength(1);
  const message = formatIssue(matching[0]);
  expect(message).toContain(setting);
  if ("value" in expected) expect(message).toContain(`got ${JSON.stringify(expected.value)}`);
  if (typeof expected.fix === "string") expect(message).toContain(`Fix: ${expected.fix}`);
  else expect(message).toMatch(expected.fix);
  if (expected.rule !== undefined) {
    if (typeof expected.rule === "string") expect(matching[0].rule).toContain(expected.rule);
    else expect(matching[0].rule).toMatch(expected.rule);
  }
  return message;
}

/** The error parseStackConfig throws for a stack config map. */
function configError(all: Record<string, string>): ClusterConfigError {
  try {
    parseStackConfig(all, "test", STACK_PROVIDERS);
  } catch (err) {
    expect(err).toBeInstanceOf(ClusterConfigError);
    return err as ClusterConfigError;
  }
  throw new Error("parseStackConfig accepted the config");
}

/** A stack config map with the minimal spec (changed by `mutate`) as `pulumi-patroni:cluster`. */
function stackConfig(extra: Record<string, string> = {}, mutate: (cluster: Record<string, unknown>) => void = () => undefined): Record<string, string> {
  const cluster = minimalSpec() as unknown as Record<string, unknown>;
  mutate(cluster);
  return { "pulumi-patroni:cluster": JSON.stringify(cluster), ...extra };
}

describe("a valid spec", () => {
  it("the minimal spec has no issues", () => {
    expect(issuesOf(minimalSpec())).toEqual([]);
  });

  it.each(["lab", "onprem-rhel"])("stack %s validates clean", (stack) => {
    const settings = readStackSettings(stack);
    expect(settings.cluster.hosts.etcd).toHaveLength(3);
    const cluster = JSON.parse(readStackFile(stack)["pulumi-patroni:cluster"]) as unknown;
    expect(validateCluster(cluster, stack, "pulumi-patroni:cluster")).toEqual([]);
  });
});

describe("etcd members", () => {
  it.each([2, 4])("%i members are rejected: an even count adds no fault tolerance", (count) => {
    const spec = specWith((s) => {
      s.hosts.etcd = Array.from({ length: count }, (_, i) => host(`etcd${i + 1}`, `10.0.0.${11 + i}`));
    });
    expectIssue(issuesOf(spec), `${ROOT}.hosts.etcd`, { value: count, fix: "use 3 or 5 etcd hosts", rule: "odd number" });
  });

  it("0 members are rejected (below 3)", () => {
    const spec = specWith((s) => {
      s.hosts.etcd = [];
    });
    expectIssue(issuesOf(spec), `${ROOT}.hosts.etcd`, { value: 0, fix: "use 3 or 5 etcd hosts", rule: "at least 3" });
  });

  it("1 member without etcd.allowSingleNode is rejected", () => {
    const spec = specWith((s) => {
      s.hosts.etcd = [host("etcd1", "10.0.0.11")];
    });
    expectIssue(issuesOf(spec), `${ROOT}.hosts.etcd`, { value: 1, fix: `use 3 etcd hosts, or set ${ROOT}.etcd.allowSingleNode: true for development only` });
  });

  it("1 member with etcd.allowSingleNode passes", () => {
    const spec = specWith((s) => {
      s.hosts.etcd = [host("etcd1", "10.0.0.11")];
      s.etcd = { allowSingleNode: true };
    });
    expect(issuesOf(spec)).toEqual([]);
  });

  it("5 members pass", () => {
    const spec = specWith((s) => {
      s.hosts.etcd = Array.from({ length: 5 }, (_, i) => host(`etcd${i + 1}`, `10.0.0.${11 + i}`));
    });
    expect(issuesOf(spec)).toEqual([]);
  });
});

describe("hosts", () => {
  it("a duplicate host name within a role is rejected", () => {
    const spec = specWith((s) => {
      s.hosts.patroni[1].name = "pg1";
    });
    expectIssue(issuesOf(spec), `${ROOT}.hosts.patroni[1].name`, { value: "pg1", fix: "give every patroni host its own name", rule: `duplicates ${ROOT}.hosts.patroni[0].name` });
  });

  it("a duplicate address within a role is rejected", () => {
    const spec = specWith((s) => {
      s.hosts.haproxy![1].address = "10.0.0.31";
    });
    expectIssue(issuesOf(spec), `${ROOT}.hosts.haproxy[1].address`, { value: "10.0.0.31", fix: "give every haproxy host its own address", rule: `duplicates ${ROOT}.hosts.haproxy[0].address` });
  });

  it("the same name with another address in another role is rejected", () => {
    const spec = specWith((s) => {
      s.hosts.haproxy![0] = host("pg1", "10.0.0.31");
    });
    expectIssue(issuesOf(spec), `${ROOT}.hosts.haproxy[0].address`, {
      value: "10.0.0.31",
      fix: "a host shared by two roles keeps one address; otherwise give it another name",
      rule: `host pg1 already has address 10.0.0.21 at ${ROOT}.hosts.patroni[0]`,
    });
  });

  it("the same address under another name in another role is rejected", () => {
    const spec = specWith((s) => {
      s.hosts.haproxy![0] = host("lb1", "10.0.0.21");
    });
    expectIssue(issuesOf(spec), `${ROOT}.hosts.haproxy[0].name`, {
      value: "lb1",
      fix: "a host shared by two roles keeps one name; otherwise give it another address",
      rule: "address 10.0.0.21 already belongs to host pg1",
    });
  });

  it("a co-located host (same name and address in two roles) is allowed", () => {
    const spec = specWith((s) => {
      s.hosts.etcd = [host("pg1", "10.0.0.21"), host("pg2", "10.0.0.22"), host("pg3", "10.0.0.23")];
    });
    expect(issuesOf(spec)).toEqual([]);
    expect(resolveValidCluster(spec, "test").hosts.etcd.map((h) => h.name)).toEqual(["pg1", "pg2", "pg3"]);
  });

  it("a malformed host address is rejected", () => {
    const spec = specWith((s) => {
      s.hosts.patroni[2].address = "10.0.0.256";
    });
    expectIssue(issuesOf(spec), `${ROOT}.hosts.patroni[2].address`, { value: "10.0.0.256", fix: "write the host's private address as a.b.c.d" });
  });

  it("a host name that is not a DNS label is rejected, with a suggested name", () => {
    const spec = specWith((s) => {
      s.hosts.patroni[0].name = "PG_1";
    });
    expectIssue(issuesOf(spec), `${ROOT}.hosts.patroni[0].name`, { value: "PG_1", fix: 'rename the host, e.g. "pg-1"' });
  });
});

describe("Patroni timings and synchronous mode", () => {
  it("loopWaitSec + 2 × retryTimeoutSec above ttlSec is rejected", () => {
    const spec = specWith((s) => {
      s.patroni = { ttlSec: 30, loopWaitSec: 10, retryTimeoutSec: 11 };
    });
    expectIssue(issuesOf(spec), `${ROOT}.patroni.ttlSec`, {
      value: { ttlSec: 30, loopWaitSec: 10, retryTimeoutSec: 11 },
      fix: `raise ${ROOT}.patroni.ttlSec to at least 32, or lower loopWaitSec/retryTimeoutSec`,
      rule: "(32) exceeds ttlSec (30)",
    });
  });

  it("loopWaitSec + 2 × retryTimeoutSec equal to ttlSec passes", () => {
    expect(issuesOf(specWith((s) => (s.patroni = { ttlSec: 30, loopWaitSec: 10, retryTimeoutSec: 10 })))).toEqual([]);
  });

  it("retryTimeoutSec below Patroni's minimum of 3 is rejected", () => {
    const spec = specWith((s) => {
      s.patroni = { ttlSec: 20, loopWaitSec: 5, retryTimeoutSec: 2 };
    });
    expectIssue(issuesOf(spec), `${ROOT}.patroni.retryTimeoutSec`, { value: 2, fix: `set ${ROOT}.patroni.retryTimeoutSec to 3 or more` });
  });

  it("ttlSec below 20 is rejected", () => {
    const spec = specWith((s) => {
      s.patroni = { ttlSec: 15, loopWaitSec: 3, retryTimeoutSec: 5 };
    });
    expectIssue(issuesOf(spec), `${ROOT}.patroni.ttlSec`, { value: 15, fix: `set ${ROOT}.patroni.ttlSec to 20 or more` });
  });

  it("synchronousMode with one Patroni host is rejected", () => {
    const spec = specWith((s) => {
      s.hosts.patroni = [host("pg1", "10.0.0.21")];
      s.patroni = { synchronousMode: true };
    });
    expectIssue(issuesOf(spec), `${ROOT}.patroni.synchronousMode`, { value: true, fix: `add Patroni hosts, or set ${ROOT}.patroni.synchronousMode: false`, rule: "there is 1" });
  });

  it("synchronousMode quorum passes where Patroni is 4 or newer, and is refused on debian12's Patroni 3.0.2, naming the fix", () => {
    expect(issuesOf(specWith((s) => ((s.os = "debian13"), (s.patroni = { synchronousMode: "quorum" }))))).toEqual([]);
    expect(issuesOf(specWith((s) => ((s.os = "debian12"), (s.packageSource = "pgdg"), (s.postgresVersion = 16), (s.patroni = { synchronousMode: "quorum" }))))).toEqual([]);
    const spec = specWith((s) => {
      s.os = "debian12";
      s.patroni = { synchronousMode: "quorum" };
    });
    expectIssue(issuesOf(spec), `${ROOT}.patroni.synchronousMode`, {
      value: "quorum",
      rule: "needs Patroni 4.0 or newer; debian12's own Patroni is 3.x",
      fix: `set ${ROOT}.patroni.synchronousMode: true, or run the cluster on debian13 (or with packageSource: pgdg)`,
    });
  });

  it("synchronousMode other than a boolean or quorum is rejected", () => {
    const spec = { ...minimalSpec(), patroni: { synchronousMode: "always" } };
    expectIssue(issuesOf(spec), `${ROOT}.patroni.synchronousMode`, { value: "always", fix: /a boolean or one of "quorum"/ });
  });

  it("one Patroni host passes with synchronousMode off", () => {
    const spec = specWith((s) => {
      s.hosts.patroni = [host("pg1", "10.0.0.21")];
      s.patroni = { synchronousMode: false };
    });
    expect(issuesOf(spec)).toEqual([]);
  });
});

describe("the watchdog, and a Patroni that can take the leader key back after a freeze", () => {
  const resolved = (mutate: (spec: ClusterSpec) => void) => resolveValidCluster(specWith(mutate), "test", ROOT);

  it("is required by default: a frozen Patroni is fenced where the host can load softdog", () => {
    expect(resolved(() => undefined).patroni.watchdog).toBe("required");
    expect(clusterWarnings(resolved(() => undefined), ROOT)).toEqual([]);
  });

  it("warns, naming the setting, the value and the fix, where Debian 12's Patroni 3.0.2 runs without a required watchdog", () => {
    for (const mode of ["automatic", "off"] as const) {
      const c = resolved((s) => {
        s.os = "debian12";
        s.patroni = { watchdog: mode, synchronousMode: true };
      });
      expectIssue(clusterWarnings(c, ROOT), `${ROOT}.patroni.watchdog`, {
        value: mode,
        rule: /debian12's Patroni \(3\.0\.2\) predates 3\.0\.3: .*takes the leader key back/,
        fix: /Fix: set cluster\.patroni\.watchdog: required .*Patroni 3\.0\.3 or newer \(os: debian13, or packageSource: pgdg\)/,
      });
    }
  });

  it("says nothing where Patroni has the fix (Debian 13's 4.0.7, PGDG's) or the watchdog is required", () => {
    expect(clusterWarnings(resolved((s) => (s.patroni = { watchdog: "automatic" })), ROOT)).toEqual([]);
    expect(clusterWarnings(resolved((s) => ((s.os = "debian12"), (s.packageSource = "pgdg"), (s.patroni = { watchdog: "automatic" }))), ROOT)).toEqual([]);
    expect(clusterWarnings(resolved((s) => ((s.os = "debian12"), (s.patroni = { watchdog: "required", synchronousMode: true }))), ROOT)).toEqual([]);
  });
});

describe("VIP and addresses", () => {
  it("a VIP equal to a host address is rejected", () => {
    const spec = specWith((s) => {
      s.keepalived!.vip = "10.0.0.32";
    });
    expectIssue(issuesOf(spec), `${ROOT}.keepalived.vip`, { value: "10.0.0.32", fix: "choose a free address for the VIP", rule: "is the address of host lb2" });
  });

  it("a VIP outside the HAProxy hosts' subnet is rejected", () => {
    const spec = specWith((s) => {
      s.keepalived!.vip = "10.0.1.50";
    });
    expectIssue(issuesOf(spec), `${ROOT}.keepalived.vip`, {
      value: "10.0.1.50",
      fix: "choose a VIP in the HAProxy hosts' subnet and put all HAProxy hosts in one subnet",
      rule: "lb1 (10.0.0.31), lb2 (10.0.0.32) for /24",
    });
  });

  it("a wider prefix brings the same VIP into the subnet", () => {
    expect(issuesOf(specWith((s) => (s.keepalived = { vip: "10.0.1.50", vipPrefixLength: 16 })))).toEqual([]);
  });

  it("a malformed VIP is rejected", () => {
    const spec = specWith((s) => {
      s.keepalived!.vip = "10.0.0";
    });
    expectIssue(issuesOf(spec), `${ROOT}.keepalived.vip`, { value: "10.0.0", fix: "write the VIP as a.b.c.d, a free address in the HAProxy hosts' subnet" });
  });

  it("a malformed client CIDR is rejected", () => {
    const spec = specWith((s) => {
      s.clientCidrs = ["10.0.0.0/16", "10.1.0.0/33"];
    });
    const issues = issuesOf(spec);
    expectIssue(issues, `${ROOT}.clientCidrs[1]`, { value: "10.1.0.0/33", fix: "write it as a.b.c.d/n, e.g. 10.0.0.0/16" });
    expect(issues.some((i) => i.setting === `${ROOT}.clientCidrs[0]`)).toBe(false);
  });

  it("a client address without prefix length is rejected", () => {
    const spec = specWith((s) => {
      s.clientCidrs = ["10.1.0.0"];
    });
    expectIssue(issuesOf(spec), `${ROOT}.clientCidrs[0]`, { value: "10.1.0.0", fix: "write it as a.b.c.d/n, e.g. 10.0.0.0/16" });
  });
});

describe("PostgreSQL version and package source", () => {
  it("PostgreSQL 16 from debian12's own repositories is rejected, pointing at pgdg", () => {
    const spec = specWith((s) => {
      s.os = "debian12";
      s.postgresVersion = 16;
    });
    const message = expectIssue(issuesOf(spec), `${ROOT}.postgresVersion`, { value: 16, fix: `use 15, or set ${ROOT}.packageSource: pgdg`, rule: "not available on debian12 from distro (available: 15)" });
    expect(message).toMatch(/pgdg for [\d, ]*16/);
  });

  it("rocky9 with distro packages is rejected, saying pgdg", () => {
    const spec = specWith((s) => {
      s.os = "rocky9";
    });
    expectIssue(issuesOf(spec), `${ROOT}.packageSource`, { value: "distro", fix: `set ${ROOT}.packageSource: pgdg`, rule: "rocky9 ships neither Patroni nor etcd" });
  });

  it("PostgreSQL 16 from pgdg on rocky9 passes", () => {
    const spec = specWith((s) => {
      s.os = "rocky9";
      s.packageSource = "pgdg";
      s.postgresVersion = 16;
    });
    expect(issuesOf(spec)).toEqual([]);
  });

  it("a version pgdg does not build is rejected with the list", () => {
    const spec = specWith((s) => {
      s.packageSource = "pgdg";
      s.postgresVersion = 12;
    });
    expectIssue(issuesOf(spec), `${ROOT}.postgresVersion`, { value: 12, fix: "use one of 13, 14, 15, 16, 17, 18" });
  });

  it("a Patroni-managed parameter is rejected", () => {
    const spec = specWith((s) => {
      s.patroni = { parameters: { port: 5433, work_mem: "16MB" } };
    });
    const issues = issuesOf(spec);
    expectIssue(issues, `${ROOT}.patroni.parameters.port`, { value: 5433, fix: "remove it: use patroni.postgresPort" });
    expect(issues.filter((i) => i.setting.startsWith(`${ROOT}.patroni.parameters`))).toHaveLength(1);
  });

  it("a pg_hba line with trust is rejected", () => {
    const spec = specWith((s) => {
      s.patroni = { pgHba: ["hostssl all app 10.0.5.0/24 scram-sha-256", "hostssl all all 10.0.9.0/24 trust"] };
    });
    const issues = issuesOf(spec);
    expectIssue(issues, `${ROOT}.patroni.pgHba[1]`, { value: "hostssl all all 10.0.9.0/24 trust", fix: "use scram-sha-256", rule: "trust" });
    expect(issues.some((i) => i.setting === `${ROOT}.patroni.pgHba[0]`)).toBe(false);
  });

  it("the method is the method field, wherever options follow: `trust map=x` is trust, a `trust` option value is not", () => {
    const spec = specWith((s) => {
      s.patroni = {
        pgHba: [
          "hostssl all all 10.0.9.0/24 trust map=x",
          "hostssl all all 10.0.8.0/24 cert clientname=trust",
          "hostssl all all 10.0.7.0 255.255.255.0 password",
          "local all all peer map=trust",
        ],
      };
    });
    const issues = issuesOf(spec);
    expectIssue(issues, `${ROOT}.patroni.pgHba[0]`, { value: "hostssl all all 10.0.9.0/24 trust map=x", fix: "use scram-sha-256", rule: "trust" });
    expectIssue(issues, `${ROOT}.patroni.pgHba[2]`, { value: "hostssl all all 10.0.7.0 255.255.255.0 password", fix: "use scram-sha-256", rule: "clear-text password" });
    expect(issues.filter((i) => i.setting.startsWith(`${ROOT}.patroni.pgHba`)).map((i) => i.setting)).toEqual([`${ROOT}.patroni.pgHba[0]`, `${ROOT}.patroni.pgHba[2]`]);
  });

  it.each([
    ["host all all scram-sha-256", /unknown authentication method "scram-sha-256"|no authentication method/],
    ["host all all 10.0.0.0/8 scram-sha256", /unknown authentication method "scram-sha256"/],
    ["hots all all 10.0.0.0/8 md5", /the type must be one of/],
    ["local all", /needs a database and a user/],
  ])("%s is not a pg_hba line, and says why", (line, why) => {
    const spec = specWith((s) => {
      s.patroni = { pgHba: [line] };
    });
    expectIssue(issuesOf(spec), `${ROOT}.patroni.pgHba[0]`, { value: line, rule: why, fix: /e\.g\. "hostssl all app/ });
  });

  it("a line that is not pg_hba is rejected", () => {
    const spec = specWith((s) => {
      s.patroni = { pgHba: ["allow everyone"] };
    });
    expectIssue(issuesOf(spec), `${ROOT}.patroni.pgHba[0]`, { value: "allow everyone", fix: /e\.g\. "hostssl all app 10\.0\.0\.0\/16 scram-sha-256"/ });
  });

  it("an invalid role name is rejected", () => {
    const spec = specWith((s) => {
      s.users = [{ name: "App-User" }];
    });
    expectIssue(issuesOf(spec), `${ROOT}.users[0].name`, { value: "App-User", fix: 'name the role e.g. "app_user"', rule: "lowercase SQL identifier" });
  });

  it("a role named like one of the cluster's own is rejected", () => {
    const spec = specWith((s) => {
      s.users = [{ name: "replicator" }];
    });
    expectIssue(issuesOf(spec), `${ROOT}.users[0].name`, { value: "replicator", fix: "choose another role name" });
  });
});

describe("ports and Keepalived", () => {
  it("haproxy.statsPort equal to patroni.restApiPort is rejected", () => {
    const spec = specWith((s) => {
      s.haproxy = { statsPort: 8008 };
    });
    expectIssue(issuesOf(spec), `${ROOT}.haproxy.statsPort`, { value: 8008, fix: `give ${ROOT}.haproxy.statsPort a port of its own`, rule: `is also used by ${ROOT}.patroni.restApiPort` });
  });

  it("a port out of range is rejected", () => {
    const spec = specWith((s) => {
      s.patroni = { postgresPort: 70000 };
    });
    expectIssue(issuesOf(spec), `${ROOT}.patroni.postgresPort`, { value: 70000, fix: "choose a free TCP port" });
  });

  it("equal Keepalived priorities are rejected", () => {
    const spec = specWith((s) => {
      s.keepalived!.priorities = [100, 100];
    });
    expectIssue(issuesOf(spec), `${ROOT}.keepalived.priorities[1]`, { value: 100, fix: "give every HAProxy host a different priority", rule: `equals ${ROOT}.keepalived.priorities[0]` });
  });

  it.each([0, 256])("virtualRouterId %i is rejected", (id) => {
    const spec = specWith((s) => {
      s.keepalived!.virtualRouterId = id;
    });
    expectIssue(issuesOf(spec), `${ROOT}.keepalived.virtualRouterId`, { value: id, fix: "choose a VRRP router id unused on this network, 1–255" });
  });

  it.each([0, 0.005, 0.333, 40.96, -1])("advertIntervalSec %s is rejected: VRRPv3 counts centiseconds, 1 to 4095", (sec) => {
    const spec = specWith((s) => {
      s.keepalived!.advertIntervalSec = sec;
    });
    expectIssue(issuesOf(spec), `${ROOT}.keepalived.advertIntervalSec`, { value: sec, rule: "must be 0.01–40.95 seconds, to the centisecond (VRRPv3)", fix: "use 0.3, or another interval such as 0.5 or 1" });
  });

  it.each([0.01, 0.3, 0.07, 1, 2.55, 40.95])("advertIntervalSec %s passes", (sec) => {
    expect(issuesOf(specWith((s) => (s.keepalived!.advertIntervalSec = sec)))).toEqual([]);
  });

  it("advertIntervalSec must be a number", () => {
    const spec = specWith((s) => {
      (s.keepalived as unknown as Record<string, unknown>).advertIntervalSec = "0.5";
    });
    expectIssue(issuesOf(spec), `${ROOT}.keepalived.advertIntervalSec`, { value: "0.5", rule: "must be a number", fix: `write ${ROOT}.keepalived.advertIntervalSec as a number` });
  });

  it.each([1, 255])("virtualRouterId %i passes", (id) => {
    expect(issuesOf(specWith((s) => (s.keepalived!.virtualRouterId = id)))).toEqual([]);
  });

  it("a priority count other than the HAProxy host count is rejected", () => {
    const spec = specWith((s) => {
      s.keepalived!.priorities = [150, 100, 90];
    });
    expectIssue(issuesOf(spec), `${ROOT}.keepalived.priorities`, { value: [150, 100, 90], fix: "list one priority per HAProxy host, in the same order, or omit it", rule: "(2)" });
  });
});

describe("shape: unknown keys and wrong types", () => {
  it("an unknown nested key suggests the known one", () => {
    const spec = specWith((s) => {
      (s as unknown as { patroni: Record<string, unknown> }).patroni = { ttl: 30 };
    });
    expectIssue(issuesOf(spec), `${ROOT}.patroni.ttl`, { value: 30, fix: `did you mean ${ROOT}.patroni.ttlSec?`, rule: "is not a known setting" });
  });

  it("a string where an integer belongs is rejected", () => {
    const spec = specWith((s) => {
      (s as unknown as { patroni: Record<string, unknown> }).patroni = { ttlSec: "30" };
    });
    expectIssue(issuesOf(spec), `${ROOT}.patroni.ttlSec`, { value: "30", fix: `write ${ROOT}.patroni.ttlSec as an integer` });
  });

  it("an unknown OS release is rejected, listing the known ones", () => {
    const spec = { ...minimalSpec(), os: "centos7" };
    expectIssue(issuesOf(spec), `${ROOT}.os`, { value: "centos7", fix: /one of "debian12", .*"rocky9"/ });
  });

  it("a missing required setting is reported", () => {
    const { keepalived: _dropped, ...spec } = minimalSpec();
    expectIssue(issuesOf(spec), `${ROOT}.keepalived`, { fix: `set ${ROOT}.keepalived (an object)`, rule: "is required" });
  });

  it("unknown keys in stack config are rejected at the top level", () => {
    const err = configError(stackConfig({ "pulumi-patroni:clustr": "{}" }));
    // Its value is not shown: an unknown key may be a misspelt secret.
    expectIssue(err.issues, "pulumi-patroni:clustr", { value: "(not shown)", fix: /pulumi-patroni:cluster, / });
  });

  it("other namespaces in stack config belong to providers and are left alone", () => {
    expect(parseStackConfig(stackConfig({ "aws:region": "eu-west-1" }), "test", STACK_PROVIDERS).cluster.scope).toBe("test");
  });

  it("unknown keys in stack config are rejected inside the cluster, with the stack config path", () => {
    const err = configError(
      stackConfig({}, (c) => {
        c.patroni = { ttl: 30 };
      }),
    );
    expectIssue(err.issues, "pulumi-patroni:cluster.patroni.ttl", { value: 30, fix: "did you mean pulumi-patroni:cluster.patroni.ttlSec?" });
  });

  it("a wrong type in stack config is rejected", () => {
    const err = configError(
      stackConfig({}, (c) => {
        c.patroni = { ttlSec: "30" };
      }),
    );
    expectIssue(err.issues, "pulumi-patroni:cluster.patroni.ttlSec", { value: "30", fix: "write pulumi-patroni:cluster.patroni.ttlSec as an integer" });
  });

  it("an unknown enum value in stack config is rejected", () => {
    const err = configError(
      stackConfig({}, (c) => {
        c.os = "centos7";
      }),
    );
    expectIssue(err.issues, "pulumi-patroni:cluster.os", { value: "centos7", fix: /write pulumi-patroni:cluster\.os as one of "debian12"/ });
  });
});

describe("supplied secrets", () => {
  it("an empty supplied password is rejected without echoing anything", () => {
    const err = configError(stackConfig({ "pulumi-patroni:superuserPassword": "" }));
    expectIssue(err.issues, "pulumi-patroni:superuserPassword", { value: "(empty)", fix: "set it with `pulumi config set --secret pulumi-patroni:superuserPassword <value>`" });
  });

  it("a blank supplied password is rejected", () => {
    const err = configError(stackConfig({ "pulumi-patroni:adminPassword": "   " }));
    expectIssue(err.issues, "pulumi-patroni:adminPassword", { value: "(empty)", fix: /pulumi config set --secret pulumi-patroni:adminPassword/ });
  });

  it("a badly typed role password is rejected without showing its value", () => {
    const secret = "r0le-Secret-77Zz";
    const err = configError(stackConfig({ "pulumi-patroni:userPasswords": JSON.stringify({ app: [secret] }) }));
    expectIssue(err.issues, "pulumi-patroni:userPasswords.app", { value: "(not shown)", fix: "supply each role's password as a string" });
    expect(err.message).not.toContain(secret);
  });
});

describe("ClusterConfigError", () => {
  it("lists every issue at once, each formatted", () => {
    const spec = specWith((s) => {
      s.hosts.etcd = s.hosts.etcd.slice(0, 2);
      s.patroni = { ttlSec: 15, loopWaitSec: 3, retryTimeoutSec: 5 };
      s.keepalived!.virtualRouterId = 0;
    });
    let thrown: unknown;
    try {
      resolveValidCluster(spec, "test");
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(ClusterConfigError);
    const err = thrown as ClusterConfigError;
    expect(err.issues.map((i) => i.setting).sort()).toEqual([`${ROOT}.hosts.etcd`, `${ROOT}.keepalived.virtualRouterId`, `${ROOT}.patroni.ttlSec`]);
    expect(err.message).toMatch(/^Invalid pulumi-patroni configuration \(3 issues\):\n/);
    for (const issue of err.issues) expect(err.message).toContain(`  - ${formatIssue(issue)}`);
  });

  it("resolveValidCluster returns the resolved cluster when the spec is valid", () => {
    const c = resolveValidCluster(minimalSpec(), "orders");
    expect(c.scope).toBe("orders");
    expect(c.keepalived!.priorities).toEqual([150, 100]);
  });
});

describe("CLUSTER_SCHEMA stays in step with the resolved model", () => {
  type Fields = { readonly [key: string]: Schema };
  const fieldsOf = (schema: Schema): string[] => Object.keys(schema as Fields).map((k) => k.replace(/\?$/, ""));
  const subSchema = (key: string): Schema => {
    const fields = CLUSTER_SCHEMA as Fields;
    return fields[key] ?? fields[`${key}?`];
  };
  const resolved = resolveCluster(minimalSpec(), "test") as unknown as Record<string, Record<string, unknown>>;

  it.each(["patroni", "haproxy", "keepalived", "etcd"])("every resolved %s setting can be written in config, and nothing else", (section) => {
    expect(fieldsOf(subSchema(section)).sort()).toEqual(Object.keys(resolved[section]).sort());
  });

  it("every resolved top-level setting except the derived layout can be written in config", () => {
    const topLevel = Object.keys(resolved).filter((k) => k !== "layout");
    expect(fieldsOf(CLUSTER_SCHEMA).sort()).toEqual(topLevel.sort());
  });

  it("every resolved host field, users field and role list is in the schema", () => {
    const hosts = subSchema("hosts") as Fields;
    expect(fieldsOf(hosts).sort()).toEqual(Object.keys(resolved.hosts).sort());
    const hostSchema = (hosts.patroni as readonly [Schema])[0];
    expect(fieldsOf(hostSchema).sort()).toEqual(Object.keys(resolveCluster(minimalSpec(), "test").hosts.patroni[0]).sort());
    const tagSchema = (hostSchema as Fields)["tags?"];
    expect(fieldsOf(tagSchema).sort()).toEqual(Object.keys(resolveCluster(minimalSpec(), "test").hosts.patroni[0].tags).sort());
    const userSchema = (subSchema("users") as readonly [Schema])[0];
    const users = resolveCluster(specWith((s) => (s.users = [{ name: "app" }])), "test").users;
    expect(fieldsOf(userSchema).sort()).toEqual(Object.keys(users[0]).sort());
  });
});

describe("inputs that cannot slip through (issue 12)", () => {
  /** The value a fix suggests, as `e.g. "<value>"`. */
  const suggested = (issue: ValidationIssue | undefined): string => {
    const m = /e\.g\. "([^"]*)"/.exec(issue?.fix ?? "");
    if (!m) throw new Error(`no suggestion in ${issue ? formatIssue(issue) : "(no issue)"}`);
    return m[1];
  };
  const issueAt = (spec: unknown, setting: string) => issuesOf(spec).find((i) => i.setting === setting);

  it("every suggested host, role and database name is itself accepted by the same rule", () => {
    const hostNames = ["pg_1!", "-pg-", "PG__1", "___", `${"a".repeat(70)}!`, "x-"];
    for (const bad of hostNames) {
      const at = `${ROOT}.hosts.patroni[0].name`;
      const fix = suggested(issueAt(specWith((s) => (s.hosts.patroni[0].name = bad)), at));
      expect(issueAt(specWith((s) => (s.hosts.patroni[0].name = fix)), at), `${bad} → ${fix}`).toBeUndefined();
    }
    const roleNames = ["App-User", "1abc", "pg_monitor", "public", "a b", "Ω", "x".repeat(80), "current_user"];
    for (const bad of roleNames) {
      const at = `${ROOT}.users[0].name`;
      const fix = suggested(issueAt(specWith((s) => (s.users = [{ name: bad }])), at));
      expect(issueAt(specWith((s) => (s.users = [{ name: fix }])), at), `${bad} → ${fix}`).toBeUndefined();
      const db = `${ROOT}.users[0].databases[0]`;
      const dbFix = suggested(issueAt(specWith((s) => (s.users = [{ name: "app", databases: [bad] }])), db) ?? { setting: db, value: bad, rule: "", fix: `e.g. "${bad}"` });
      expect(issueAt(specWith((s) => (s.users = [{ name: "app", databases: [dbFix] }])), db), `${bad} → ${dbFix}`).toBeUndefined();
    }
  });

  it("the cluster's own role names are SQL identifiers too: a quote cannot reach the SQL or the scripts", () => {
    for (const key of ["superuserName", "replicationUserName", "rewindUserName", "adminUserName", "restApiUserName"] as const) {
      const at = `${ROOT}.patroni.${key}`;
      const issue = issueAt(specWith((s) => (s.patroni = { ...s.patroni, [key]: 'x"; drop table t; --' })), at);
      expect(issue?.rule, key).toMatch(/lowercase SQL identifier/);
      expect(issueAt(specWith((s) => (s.patroni = { ...s.patroni, [key]: suggested(issue) })), at)).toBeUndefined();
    }
    expect(issueAt(specWith((s) => (s.patroni = { ...s.patroni, superuserName: "pg_admin" })), `${ROOT}.patroni.superuserName`)?.rule).toMatch(/reserves/);
  });

  it("a client CIDR or pg_hba line open to every address needs allowClientsFromAnywhere", () => {
    const hba = ["hostssl all all 0.0.0.0/0 scram-sha-256", "hostssl all all ::/0 scram-sha-256", "hostssl all all all scram-sha-256", "hostssl all all 0.0.0.0 0.0.0.0 scram-sha-256"];
    for (const line of hba) {
      const issue = issueAt(specWith((s) => (s.patroni = { ...s.patroni, pgHba: [line] })), `${ROOT}.patroni.pgHba[0]`);
      expect(issue?.rule, line).toMatch(/any address/);
      expect(issue?.fix).toContain(`${ROOT}.allowClientsFromAnywhere: true`);
      expect(issueAt(specWith((s) => ((s.patroni = { ...s.patroni, pgHba: [line] }), (s.allowClientsFromAnywhere = true))), `${ROOT}.patroni.pgHba[0]`), line).toBeUndefined();
    }
    expect(issueAt(specWith((s) => (s.clientCidrs = ["10.0.0.0/8", "0.0.0.0/0"])), `${ROOT}.clientCidrs[1]`)?.rule).toMatch(/any address \(0\.0\.0\.0\/0\)/);
    expect(issuesOf(specWith((s) => ((s.clientCidrs = ["0.0.0.0/0"]), (s.allowClientsFromAnywhere = true))))).toEqual([]);
    expect(issuesOf(specWith((s) => (s.patroni = { ...s.patroni, pgHba: ["hostssl all all 10.0.0.0/8 scram-sha-256"] })))).toEqual([]);
  });

  it("patroni.parameters are checked against the version's PostgreSQL catalog: names, types, units, ranges, enums", () => {
    const at = `${ROOT}.patroni.parameters`;
    const params = (parameters: Record<string, string | number | boolean>, version = 17) => specWith((s) => ((s.os = "debian13"), (s.postgresVersion = version), (s.patroni = { ...s.patroni, parameters })));
    const bad = issuesOf(params({ max_connections: "lots", shared_buffer: "1GB", huge_pages: "maybe", work_mem: "10", autovacuum_naptime: "5 MB", "bad.name;x": 1 }));
    expect(bad.map((i) => i.setting).sort()).toEqual([`${at}.autovacuum_naptime`, `${at}.bad.name;x`, `${at}.huge_pages`, `${at}.max_connections`, `${at}.shared_buffer`, `${at}.work_mem`]);
    expectIssue(bad, `${at}.max_connections`, { value: "lots", rule: 'PostgreSQL 17 refuses it: invalid value for parameter "max_connections": "lots"', fix: "use an integer from 1 to 262143" });
    expectIssue(bad, `${at}.shared_buffer`, { rule: /no such parameter/, fix: `did you mean ${at}.shared_buffers?` });
    expectIssue(bad, `${at}.huge_pages`, { rule: /Available values: off, on, try/, fix: "use one of off, on, try" });
    expectIssue(bad, `${at}.work_mem`, { rule: '10 kB is outside the valid range for parameter "work_mem" (64 .. 2147483647)', fix: /from 64 to 2147483647 kB/ });
    expectIssue(bad, `${at}.autovacuum_naptime`, { rule: /Valid units for this parameter are "us", "ms", "s", "min", "h", and "d"/, fix: /us, ms, s, min, h, d/ });
    // What PostgreSQL accepts passes: units, case, hidden enum spellings, booleans, extensions' parameters.
    expect(issuesOf(params({ work_mem: "64MB", SHARED_BUFFERS: "1GB", wal_level: "Replica", synchronous_commit: "yes", checkpoint_timeout: "15min", jit: false, "pg_stat_statements.max": 10000 }))).toEqual([]);
    // The refusal names the version whose catalog spoke.
    expect(issueAt(params({ max_connections: "lots" }, 15), `${at}.max_connections`)?.rule).toMatch(/^PostgreSQL 15 refuses/);
    // A setting only newer versions know is unknown to an older one.
    expect(issueAt(params({ summarize_wal: true }, 15), `${at}.summarize_wal`)?.rule).toMatch(/PostgreSQL 15 has no such parameter/);
    expect(issueAt(params({ summarize_wal: true }, 17), `${at}.summarize_wal`)).toBeUndefined();
  });

  it("PGDG versions without a catalog of their own are checked by both neighbours", () => {
    const spec = (parameters: Record<string, string | number>) => specWith((s) => ((s.os = "debian12"), (s.packageSource = "pgdg"), (s.postgresVersion = 16), (s.patroni = { ...s.patroni, parameters })));
    expect(issuesOf(spec({ max_connections: "lots" }))[0]?.rule).toMatch(/^PostgreSQL 15 and 17 \(no catalog for 16: its neighbours speak for it\) both refuse it/);
    // Known to one neighbour only (17 added summarize_wal; 16 itself lacks it, but 17 speaks for it): not refused.
    expect(issuesOf(spec({ summarize_wal: "on" }))).toEqual([]);
  });

  it("Keepalived's check timings are settings, checked like HAProxy's", () => {
    const issue = issueAt(specWith((s) => (s.keepalived = { ...s.keepalived!, checkFall: 0 })), `${ROOT}.keepalived.checkFall`);
    expect(issue?.rule).toBe("must be at least 1");
    const c = resolveCluster(specWith((s) => (s.keepalived = { ...s.keepalived!, checkIntervalSec: 3 })), "t");
    expect(c.keepalived).toMatchObject({ checkIntervalSec: 3, checkTimeoutSec: 2, checkFall: 2, checkRise: 2 });
  });
});
