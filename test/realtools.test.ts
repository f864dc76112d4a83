// The real tools check what the hosts would receive: every rendered haproxy.cfg, keepalived.conf,
// patroni.yml, step script and etcd environment file of both example stacks (and of the lab stack
// with a notify_master command, which neither stack sets).
// Needs: apt-get install haproxy keepalived patroni python3-etcd shellcheck (and postgresql-15 for
// the bin_dir check of patroni.yml, see below). A missing tool fails the test, naming its package.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolveValidCluster } from "../model/validate";
import { renderClusterFiles } from "../render/bundle";
import { KEEPALIVED_INTERFACE } from "../render/files";
import { readStackFile, renderStack, writeRendered } from "../tools/render";
import {
  freePort,
  interfaceExists,
  listFiles,
  LOCAL_PG_BIN_DIR,
  localInterface,
  openEtcdStandIn,
  patroniCheckCopy,
  requirePatroniWithEtcd,
  requireTool,
  run,
  withInstalledFiles,
} from "./helpers/realtools";


/** Patroni's validator wants bin_dir to hold pg_ctl, initdb, postgres, ...: the lab stack's is this one. */
function requireLocalPostgres(): void {
  for (const program of ["pg_ctl", "initdb", "pg_controldata", "pg_basebackup", "postgres", "pg_isready"]) {
    if (!fs.existsSync(path.join(LOCAL_PG_BIN_DIR, program))) {
      throw new Error(`${LOCAL_PG_BIN_DIR}/${program} is missing: patroni --validate-config checks bin_dir. Install it with \`apt-get install postgresql-15\`.`);
    }
  }
}

let outDir: string;
/** Rendered trees by name: the example stacks, the lab stack with keepalived.notifyMasterCommand, the AWS stacks with data volumes. */
const trees: Record<string, string> = {};

beforeAll(() => {
  outDir = fs.mkdtempSync(path.join(os.tmpdir(), "pulumi-patroni-realtools-"));
  for (const stack of ["lab", "lab-debian12", "lab-plain", "onprem-rhel", "lab-backup"]) {
    trees[stack] = path.join(outDir, stack);
    renderStack(stack, trees[stack]);
  }
  const spec = JSON.parse(readStackFile("lab")["pulumi-patroni:cluster"]) as Parameters<typeof resolveValidCluster>[0] & { keepalived: Record<string, unknown> };
  spec.keepalived.notifyMasterCommand = "logger -t pgha \"VIP moved to $(hostname)\"";
  trees["lab+notify"] = path.join(outDir, "lab+notify");
  writeRendered(renderClusterFiles(resolveValidCluster(spec, "lab")), trees["lab+notify"]);
  // A single proxy host: no VRRP peer, so no unicast_peer block (keepalived refuses an empty one).
  const single = JSON.parse(readStackFile("lab")["pulumi-patroni:cluster"]) as typeof spec & { hosts: { haproxy: unknown[] } };
  single.hosts.haproxy = single.hosts.haproxy.slice(0, 1);
  trees["lab+single-proxy"] = path.join(outDir, "lab+single-proxy");
  writeRendered(renderClusterFiles(resolveValidCluster(single, "lab")), trees["lab+single-proxy"]);
  // The AWS stacks as `npm run render` writes them, a placeholder EBS volume per etcd and Patroni host:
  // the notify_master script that moves the VIP, the mount-data step, the AWS CLI install.
  for (const stack of ["dev", "staging"]) {
    trees[`aws-${stack}`] = path.join(outDir, `aws-${stack}`);
    renderStack(stack, trees[`aws-${stack}`]);
  }
});

afterAll(() => {
  if (outDir) fs.rmSync(outDir, { recursive: true, force: true });
});

/** `[label, absolute path]` of every rendered file of `tree` whose host-relative path matches. */
function rendered(tree: string, pattern: RegExp): Array<[string, string]> {
  const dir = trees[tree];
  const found = listFiles(dir)
    .filter((f) => pattern.test(f))
    .map((f): [string, string] => [`${tree}/${f}`, path.join(dir, f)]);
  expect(found.length, `rendered files of ${tree} matching ${pattern}`).toBeGreaterThan(0);
  return found;
}

const TREES = ["lab", "lab-debian12", "lab-plain", "onprem-rhel", "lab+notify", "lab+single-proxy", "aws-dev", "lab-backup"];
/** Trees without HAProxy hosts (the NLB front door): checked by the shell tests only. */
const SCRIPT_ONLY_TREES = ["aws-staging"];

/** A throwaway CA certificate (PEM) made by openssl: the offline renders hold placeholders. */
function testCaCertificate(): string {
  const openssl = requireTool("openssl", "openssl");
  const dir = fs.mkdtempSync(path.join(outDir, "ca-"));
  const result = run(openssl, ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=test CA", "-days", "1", "-keyout", path.join(dir, "ca.key"), "-out", path.join(dir, "ca.crt")]);
  expect(result.status, result.output).toBe(0);
  return fs.readFileSync(path.join(dir, "ca.crt"), "utf8");
}

/** haproxy -c loads every ca-file a configuration names (with TLS: the CA its REST API checks verify with). */
function haproxyCheck(file: string): { status: number | null; output: string } {
  const haproxy = requireTool("haproxy", "haproxy");
  const caFiles = [...new Set([...fs.readFileSync(file, "utf8").matchAll(/ ca-file (\S+)/g)].map((m) => m[1]))];
  const ca = caFiles.length ? testCaCertificate() : "";
  return withInstalledFiles(caFiles.map((p) => ({ path: p, content: ca, mode: 0o644 })), () => run(haproxy, ["-c", "-f", file]));
}

describe("haproxy -c", () => {
  it.each(TREES)("accepts every haproxy.cfg of %s", (tree) => {
    for (const [label, file] of rendered(tree, /\/etc\/haproxy\/haproxy\.cfg$/)) {
      const result = haproxyCheck(file);
      expect(result.status, `haproxy -c -f ${label}:\n${result.output}`).toBe(0);
    }
  });

  it("with TLS, checks each member's REST API over HTTPS against the cluster's CA and the member's name", () => {
    for (const [label, file] of rendered("lab", /\/etc\/haproxy\/haproxy\.cfg$/)) {
      const servers = fs.readFileSync(file, "utf8").split("\n").filter((l) => /^\s+server /.test(l));
      expect(servers, label).toHaveLength(6);
      for (const line of servers) expect(line, label).toMatch(/ check port 8008 check-ssl verify required ca-file \/etc\/haproxy\/tls\/ca\.crt verifyhost (pg\d)$/);
    }
  });
});

describe("haproxy -c rejects", () => {
  it("a TLS haproxy.cfg whose CA file is missing (so the CA check above means something)", () => {
    const haproxy = requireTool("haproxy", "haproxy");
    const [[, file]] = rendered("lab", /^lb1\/etc\/haproxy\/haproxy\.cfg$/);
    const copy = path.join(outDir, "haproxy-no-ca.cfg");
    fs.writeFileSync(copy, fs.readFileSync(file, "utf8").replaceAll("/etc/haproxy/tls/ca.crt", path.join(outDir, "no-such-ca.crt")));
    const result = run(haproxy, ["-c", "-f", copy]);
    expect(result.status).not.toBe(0);
    expect(result.output).toContain("no-such-ca.crt");
  });

  it("a broken haproxy.cfg (so the check above means something)", () => {
    const haproxy = requireTool("haproxy", "haproxy");
    const [[, file]] = rendered("lab", /^lb1\/etc\/haproxy\/haproxy\.cfg$/);
    const copy = path.join(outDir, "haproxy-broken.cfg");
    fs.writeFileSync(copy, fs.readFileSync(file, "utf8").replaceAll(" on-marked-down shutdown-sessions\n", " on-marked-down shutdown-everything\n"));
    expect(run(haproxy, ["-c", "-f", copy]).status).not.toBe(0);
  });
});

describe("keepalived -t", () => {
  it.each(TREES)("accepts every keepalived.conf of %s, with its scripts in place", (tree) => {
    const keepalived = requireTool("keepalived", "keepalived");
    for (const [label, file] of rendered(tree, /\/etc\/keepalived\/keepalived\.conf$/)) {
      const hostDir = path.dirname(path.dirname(path.dirname(file)));
      let conf = fs.readFileSync(file, "utf8");
      const iface = /^\s*interface (\S+)$/m.exec(conf)?.[1];
      expect(iface, `${label} names an interface`).toBeDefined();
      // On AWS the interface is a parameter defined by a file the host writes (found from its MAC):
      // the check installs one naming a local interface.
      const include = /^include (\S+)$/m.exec(conf)?.[1];
      const interfaceFile = include ? [{ path: include, content: `$${KEEPALIVED_INTERFACE.param}=${localInterface()}\n`, mode: 0o644 }] : [];
      if (include) expect(iface, label).toBe(`$${KEEPALIVED_INTERFACE.param}`);
      else if (!interfaceExists(iface!)) {
        // keepalived -t refuses an interface this machine does not have (onprem-rhel's ens192):
        // the copy names a local one, every other line is checked as rendered.
        conf = conf.replace(new RegExp(`(interface|dev) ${iface}\\b`, "g"), `$1 ${localInterface()}`);
      }
      // keepalived -t checks that each referenced script exists and is root-owned and executable.
      const scripts = [...conf.matchAll(/^\s*(?:script|notify_master) "([^"]+)"$/gm)].map((m) => m[1]);
      expect(scripts, label).toContain("/etc/keepalived/check-haproxy.sh");
      if (tree === "lab+notify" || tree === "aws-dev") expect(scripts, label).toContain("/etc/keepalived/notify-master.sh");
      const installed = scripts.map((script) => ({ path: script, content: fs.readFileSync(path.join(hostDir, script), "utf8"), mode: 0o755 }));
      const copy = path.join(outDir, "keepalived-check.conf");
      fs.writeFileSync(copy, conf, { mode: 0o600 });
      const result = withInstalledFiles([...installed, ...interfaceFile], () => run(keepalived, ["-t", "-f", copy]));
      expect(result.status, `keepalived -t -f ${label}:\n${result.output}`).toBe(0);
    }
  });

  it("fails when a referenced script is missing (so the check above means something)", () => {
    const keepalived = requireTool("keepalived", "keepalived");
    const [[, file]] = rendered("lab", /^lb1\/etc\/keepalived\/keepalived\.conf$/);
    const copy = path.join(outDir, "keepalived-missing-script.conf");
    fs.writeFileSync(copy, fs.readFileSync(file, "utf8").replace("/etc/keepalived/check-haproxy.sh", "/etc/keepalived/no-such-script.sh"));
    expect(run(keepalived, ["-t", "-f", copy]).status).not.toBe(0);
  });
});

describe("withInstalledFiles", () => {
  it("removes what it created and restores what existed", () => {
    const existing = path.join(outDir, "restore", "existing.sh");
    fs.mkdirSync(path.dirname(existing), { recursive: true });
    fs.writeFileSync(existing, "before\n", { mode: 0o700 });
    const created = path.join(outDir, "restore", "new-dir", "deeper", "created.sh");
    const seen = withInstalledFiles(
      [
        { path: existing, content: "during\n", mode: 0o755 },
        { path: created, content: "new\n", mode: 0o755 },
      ],
      () => [fs.readFileSync(existing, "utf8"), fs.readFileSync(created, "utf8")],
    );
    expect(seen).toEqual(["during\n", "new\n"]);
    expect(fs.readFileSync(existing, "utf8")).toBe("before\n");
    expect(fs.statSync(existing).mode & 0o777).toBe(0o700);
    expect(fs.existsSync(path.join(outDir, "restore", "new-dir"))).toBe(false);
  });
});

describe("patroni --validate-config", () => {
  let etcd: Awaited<ReturnType<typeof openEtcdStandIn>>;
  beforeAll(async () => {
    etcd = await openEtcdStandIn();
  });
  afterAll(async () => {
    await etcd?.close();
  });

  async function validate(label: string, text: string, binDir?: string): Promise<{ status: number | null; output: string }> {
    const patroni = requirePatroniWithEtcd();
    requireLocalPostgres();
    const copy = path.join(outDir, `${label.replace(/[^a-z0-9]+/gi, "-")}.yml`);
    fs.writeFileSync(copy, patroniCheckCopy(text, { restApiPort: await freePort(), postgresPort: await freePort(), etcdPort: etcd.port, binDir }), { mode: 0o600 });
    return run(patroni, ["--validate-config", copy]);
  }

  it("accepts every patroni.yml of lab-debian12 (this machine's release), as rendered apart from listen addresses and etcd hosts", async () => {
    for (const [label, file] of rendered("lab-debian12", /\/etc\/patroni\/config\.yml$/)) {
      expect(fs.readFileSync(file, "utf8")).toContain(`bin_dir: ${LOCAL_PG_BIN_DIR}`);
      const result = await validate(label, fs.readFileSync(file, "utf8"));
      expect(result.status, `patroni --validate-config ${label} (bin_dir needs package postgresql-15):\n${result.output}`).toBe(0);
    }
  }, 60_000);

  // Debian 13's PostgreSQL 17 and PGDG's layout are not on this Debian 12 machine: on the hosts, the
  // write-file step checks patroni.yml with the hosts' own Patroni (the lab runs Debian 13's 4.0.7).
  it.each([
    ["lab", /\/etc\/patroni\/config\.yml$/, "/usr/lib/postgresql/17/bin"],
    ["lab-plain", /\/etc\/patroni\/config\.yml$/, "/usr/lib/postgresql/17/bin"],
    // With backups: create_replica_methods with pgBackRest's method, and recovery_conf's restore_command.
    ["lab-backup", /\/etc\/patroni\/config\.yml$/, "/usr/lib/postgresql/17/bin"],
    ["onprem-rhel", /\/etc\/patroni\/patroni\.yml$/, "/usr/pgsql-16/bin"],
  ] as const)("accepts every patroni.yml of %s, with its bin_dir swapped for the local PostgreSQL", async (tree, pattern, binDir) => {
    for (const [label, file] of rendered(tree, pattern)) {
      const text = fs.readFileSync(file, "utf8");
      expect(text).toContain(`bin_dir: ${binDir}`);
      if (fs.existsSync(binDir)) {
        const result = await validate(label, text);
        expect(result.status, `patroni --validate-config ${label}:\n${result.output}`).toBe(0);
        continue;
      }
      // The validator requires bin_dir to exist and hold pg_ctl, initdb, postgres, ...: show that
      // this is the only complaint, then check the copy against the local PostgreSQL 15 binaries.
      const asRendered = await validate(label, text);
      expect(asRendered.status, label).not.toBe(0);
      expect(asRendered.output.split("\n").filter((l) => l.trim() !== ""), label).toEqual([`postgresql.bin_dir  Directory '${binDir}' does not exist.`]);
      const result = await validate(label, text, LOCAL_PG_BIN_DIR);
      expect(result.status, `patroni --validate-config ${label} with bin_dir ${LOCAL_PG_BIN_DIR} (package postgresql-15):\n${result.output}`).toBe(0);
    }
  }, 60_000);

  it("rejects a patroni.yml whose etcd is unreachable (so the checks above mean something)", async () => {
    const [[label, file]] = rendered("lab", /^pg1\/etc\/patroni\/config\.yml$/);
    const closed = await freePort();
    const patroni = requirePatroniWithEtcd();
    const copy = path.join(outDir, "unreachable-etcd.yml");
    fs.writeFileSync(copy, patroniCheckCopy(fs.readFileSync(file, "utf8"), { restApiPort: await freePort(), postgresPort: await freePort(), etcdPort: closed }));
    const result = run(patroni, ["--validate-config", copy]);
    expect(result.status, label).not.toBe(0);
    expect(result.output).toContain(`127.0.0.1:${closed} is not reachable`);
  }, 60_000);
});

describe("shell", () => {
  it("the AWS trees hold the mount-data step of every etcd and Patroni host (checked below)", () => {
    const mounts = rendered("aws-dev", /\/steps\/\d\d-(etcd|patroni)-mount-data\.sh$/).map(([label]) => label.split("/")[1]).sort();
    expect(mounts).toEqual(["etcd1", "etcd2", "etcd3", "pg1", "pg2", "pg3"]);
  });

  it.each([...TREES, ...SCRIPT_ONLY_TREES])("every step script and .sh file of %s passes bash -n", (tree) => {
    const bash = requireTool("bash", "bash");
    for (const [label, file] of rendered(tree, /\.sh$/)) {
      const result = run(bash, ["-n", file]);
      expect(result.status, `bash -n ${label}:\n${result.output}`).toBe(0);
    }
  });

  it.each([...TREES, ...SCRIPT_ONLY_TREES])("every step script and .sh file of %s passes shellcheck", (tree) => {
    const shellcheck = requireTool("shellcheck", "shellcheck");
    const files = rendered(tree, /\.sh$/);
    expect(files.some(([label]) => /\/steps\/\d\d-[\w-]+\.sh$/.test(label))).toBe(true);
    const result = run(shellcheck, ["-f", "gcc", ...files.map(([, file]) => file)]);
    expect(result.status, `shellcheck found problems:\n${result.output.split(trees[tree]).join(tree)}`).toBe(0);
  }, 60_000); // hundreds of scripts (every host's TLS guard among them): 5 s is short on a loaded 2-core machine

  it.each([
    ["lab", /\/etc\/default\/etcd$/],
    ["onprem-rhel", /\/etc\/etcd\/etcd\.conf$/],
  ] as const)("every etcd environment file of %s passes bash -n and defines the member", (tree, pattern) => {
    const bash = requireTool("bash", "bash");
    for (const [label, file] of rendered(tree, pattern)) {
      expect(run(bash, ["-n", file]).status, `bash -n ${label}`).toBe(0);
      const result = run(bash, ["-c", 'set -a; . "$1"; printf "%s\\n" "$ETCD_NAME" "$ETCD_INITIAL_CLUSTER"', "env", file], { env: {} });
      expect(result.status, label).toBe(0);
      const [name, cluster] = result.output.split("\n");
      expect(label.startsWith(`${tree}/${name}/`), `${label} has ETCD_NAME ${name}`).toBe(true);
      expect(cluster.split(","), label).toHaveLength(3);
    }
  });
});
