// Rendering: golden files for every file of every host of both example stacks, and the behaviour
// a reviewer relies on (pg_hba, patroni.yml, HAProxy, Keepalived, etcd, secrets, RHEL layout, SCRAM).
// UPDATE_GOLDEN=1 npx vitest run test/render.test.ts rewrites the golden files; review the diff.
import { createHash, createHmac } from "crypto";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import type { ClusterSecrets, ClusterSpec, ResolvedCluster } from "../model/types";
import { resolveValidCluster } from "../model/validate";
import { placeholderSecrets, renderClusterFiles } from "../render/bundle";
import { installScript } from "../render/files";
import { renderPgHba } from "../render/patroni";
import { scramSha256Verifier } from "../render/roles";
import { readStackFile, readStackSettings, renderStackFiles } from "../tools/render";

const GOLDEN_DIR = path.join(__dirname, "golden");
const STACKS = ["lab", "lab-debian12", "lab-plain", "onprem-rhel", "dev", "staging", "lab-backup"] as const;

function stackCluster(stack: string): ResolvedCluster {
  return readStackSettings(stack).cluster;
}

function stackSpec(stack: string): ClusterSpec {
  return JSON.parse(readStackFile(stack)["pulumi-patroni:cluster"]) as ClusterSpec;
}

/** Every file of every host, keyed `<host>/<path>`. */
const renderAll = renderClusterFiles;

function file(rendered: Map<string, string>, key: string): string {
  const content = rendered.get(key);
  if (content === undefined) throw new Error(`${key} was not rendered; rendered: ${[...rendered.keys()].join(", ")}`);
  return content;
}

/** A step's file on a host, by its label (`patroni-dcs-config`, `roles`), whatever its position. */
function stepFile(rendered: Map<string, string>, host: string, label: string, ext = ".sh"): string {
  const pattern = new RegExp(`^${host}/steps/\\d\\d-${label}${ext.replace(".", "\\.")}$`);
  const found = [...rendered].filter(([key]) => pattern.test(key));
  expect(found.map(([key]) => key), `${host}'s step ${label}${ext}`).toHaveLength(1);
  return found[0][1];
}

function filesMatching(rendered: Map<string, string>, pattern: RegExp): Array<[string, string]> {
  const found = [...rendered].filter(([key]) => pattern.test(key));
  expect(found.length, `files matching ${pattern}`).toBeGreaterThan(0);
  return found;
}

function listFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => path.relative(dir, path.join(d.parentPath, d.name)).split(path.sep).join("/"))
    .sort();
}

/** The first differing line of two texts, for a readable failure. */
function firstDifference(expected: string, actual: string): string {
  const a = expected.split("\n");
  const b = actual.split("\n");
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (a[i] !== b[i]) return `line ${i + 1}:\n  golden:   ${JSON.stringify(a[i])}\n  rendered: ${JSON.stringify(b[i])}`;
  }
  return "(no line differs)";
}

/** Compares rendered files with test/golden/<stack>/, or rewrites them when UPDATE_GOLDEN=1. */
function checkGolden(stack: string, rendered: Map<string, string>): void {
  const dir = path.join(GOLDEN_DIR, stack);
  if (process.env.UPDATE_GOLDEN === "1") {
    fs.rmSync(dir, { recursive: true, force: true });
    for (const [key, content] of rendered) {
      fs.mkdirSync(path.dirname(path.join(dir, key)), { recursive: true });
      fs.writeFileSync(path.join(dir, key), content);
    }
    return;
  }
  const hint = `run UPDATE_GOLDEN=1 npx vitest run test/render.test.ts and review \`git diff test/golden/${stack}\``;
  expect(listFiles(dir), `the files rendered for stack ${stack} differ from test/golden/${stack}/: ${hint}`).toEqual([...rendered.keys()].sort());
  for (const [key, content] of rendered) {
    const golden = fs.readFileSync(path.join(dir, key), "utf8");
    if (golden !== content) {
      expect.fail(`test/golden/${stack}/${key} differs from the rendered file at ${firstDifference(golden, content)}\n${hint}`);
    }
  }
}

describe.each(STACKS)("golden files of stack %s", (stack) => {
  it("every file of every host matches test/golden", () => {
    // Exactly what `npm run render` writes (AWS stacks: with each host's data volume step).
    checkGolden(stack, renderStackFiles(stack));
  });

  it("rendering is deterministic", () => {
    const first = renderStackFiles(stack);
    const second = renderStackFiles(stack);
    expect([...second]).toEqual([...first]);
  });
});

describe("pg_hba", () => {
  const c = stackCluster("lab");
  const hba = renderPgHba(c);

  it("is not open to the world by default", () => {
    expect(hba.join("\n")).not.toMatch(/0\.0\.0\.0\/0|::\/0/);
  });

  it("has the local replication line Patroni needs after a crash", () => {
    expect(hba.some((l) => /^hostssl\s+replication\s+replicator\s+127\.0\.0\.1\/32\s+scram-sha-256$/.test(l))).toBe(true);
  });

  it("uses peer for local sockets and scram-sha-256 for every host line", () => {
    for (const line of hba) {
      if (line.startsWith("local")) expect(line).toMatch(/\speer$/);
      else expect(line).toMatch(/\sscram-sha-256$/);
    }
    expect(hba.join("\n")).not.toMatch(/\b(md5|trust|password)\b/);
  });

  it("allows every member to replicate and the client CIDRs last", () => {
    for (const h of c.hosts.patroni) expect(hba).toContainEqual(expect.stringMatching(new RegExp(`^hostssl\\s+replication\\s+replicator\\s+${h.address}/32\\s`)));
    expect(hba[hba.length - 1]).toMatch(/^hostssl\s+all\s+all\s+10\.251\.17\.0\/24\s+scram-sha-256$/);
    // Without TLS (a cluster created before it, stack lab-plain): the same lines, as host lines.
    expect(renderPgHba(stackCluster("lab-plain"))).toEqual(hba.map((l) => l.replace(/^hostssl/, "host   ")));
  });

  it("is the same in bootstrap and in postgresql sections of patroni.yml", () => {
    const yml = parse(file(renderAll(c), "pg1/etc/patroni/config.yml"), { version: "1.1" }) as Record<string, Record<string, unknown>>;
    expect(yml.postgresql.pg_hba).toEqual(hba);
    expect(yml.bootstrap.pg_hba).toEqual(hba);
  });
});

describe("patroni.yml", () => {
  const rendered = renderAll(stackCluster("lab"));
  const yml = (host: string) => parse(file(rendered, `${host}/etc/patroni/config.yml`), { version: "1.1" }) as Record<string, any>;

  it("keeps a synchronous standby and rejoins with pg_rewind", () => {
    const dcs = yml("pg1").bootstrap.dcs;
    expect(dcs.synchronous_mode).toBe(true);
    expect(dcs.postgresql.use_pg_rewind).toBe(true);
    expect(dcs.postgresql.parameters.wal_log_hints).toBe("on");
    expect(dcs.postgresql.parameters.password_encryption).toBe("scram-sha-256");
  });

  it("quorum mode bootstraps synchronous (Patroni 4.0.7's validator takes only a boolean there) and the dcs-config step asks for quorum", () => {
    const spec = stackSpec("lab");
    (spec as { patroni?: object }).patroni = { ...(spec as { patroni?: object }).patroni, synchronousMode: "quorum" };
    const quorum = renderAll(resolveValidCluster(spec, "lab"));
    const bootstrap = (parse(file(quorum, "pg1/etc/patroni/config.yml"), { version: "1.1" }) as Record<string, any>).bootstrap.dcs;
    expect(bootstrap.synchronous_mode).toBe(true);
    expect(stepFile(quorum, "pg1", "patroni-dcs-config")).toContain('"synchronous_mode":"quorum"');
  });

  it("initialises with data checksums and SCRAM", () => {
    const initdb = yml("pg1").bootstrap.initdb;
    expect(initdb).toContain("data-checksums");
    expect(initdb).toContainEqual({ "auth-host": "scram-sha-256" });
  });

  it("uses the watchdog in automatic mode", () => {
    expect(yml("pg1").watchdog).toMatchObject({ mode: "automatic", device: "/dev/watchdog" });
  });

  it("names each member and listens on its own address", () => {
    for (const [name, address] of [["pg1", "10.251.17.21"], ["pg2", "10.251.17.22"], ["pg3", "10.251.17.23"]]) {
      const y = yml(name);
      expect(y.name).toBe(name);
      expect(y.restapi.listen).toBe(`${address}:8008`);
      expect(y.postgresql.connect_address).toBe(`${address}:5432`);
      expect(y.etcd3.hosts).toEqual(["10.251.17.11:2379", "10.251.17.12:2379", "10.251.17.13:2379"]);
    }
  });

  it("keeps YAML 1.1 booleans-as-words quoted so PyYAML reads them as strings", () => {
    expect(file(rendered, "pg1/etc/patroni/config.yml")).toMatch(/hot_standby: "on"/);
  });
});

describe("haproxy.cfg", () => {
  const rendered = renderAll(stackCluster("lab"));

  it.each(["lb1", "lb2"])("on %s routes 5000 to the primary and 5001 to replicas, stats on 7000", (host) => {
    const cfg = file(rendered, `${host}/etc/haproxy/haproxy.cfg`);
    expect(cfg).toMatch(/bind \*:5000\n/);
    expect(cfg).toMatch(/bind \*:5001\n/);
    expect(cfg).toMatch(/bind \*:7000\n/);
    expect(cfg).toContain("uri /primary\n");
    expect(cfg).toMatch(/uri \/replica\?lag=1048576\n/);
    expect(cfg.match(/^\s+default-server .* on-marked-down shutdown-sessions$/gm)).toHaveLength(2);
    for (const [name, address] of [["pg1", "10.251.17.21"], ["pg2", "10.251.17.22"], ["pg3", "10.251.17.23"]]) {
      expect(cfg.match(new RegExp(`server ${name} ${address.replace(/\./g, "\\.")}:5432 maxconn 200 check port 8008`, "g"))).toHaveLength(2);
    }
  });
});

describe("keepalived.conf", () => {
  const c = stackCluster("lab");
  const rendered = renderAll(c);
  const conf = (host: string) => file(rendered, `${host}/etc/keepalived/keepalived.conf`);

  it("speaks unicast VRRP to the peer's address", () => {
    expect(conf("lb1")).toMatch(/unicast_src_ip 10\.251\.17\.31\n\s+check_unicast_src\n\s+unicast_peer \{\n\s+10\.251\.17\.32\n\s+\}/);
    expect(conf("lb2")).toMatch(/unicast_src_ip 10\.251\.17\.32\n\s+check_unicast_src\n\s+unicast_peer \{\n\s+10\.251\.17\.31\n\s+\}/);
  });

  it("speaks VRRPv3 every 0.3 s, without authentication (v3 has none), from the peer's address only", () => {
    for (const host of ["lb1", "lb2"]) {
      expect(conf(host)).toMatch(/\n\s+vrrp_version 3\n/);
      expect(conf(host)).toMatch(/\n\s+advert_int 0\.3\n/);
      expect(conf(host)).toMatch(/\n\s+check_unicast_src\n/);
      expect(conf(host)).not.toMatch(/authentication \{|auth_pass|auth_type/);
    }
  });

  it("gives each host its own priority, the first host the highest", () => {
    const priority = (host: string) => Number(/\n\s+priority (\d+)\n/.exec(conf(host))?.[1]);
    expect(priority("lb1")).toBe(150);
    expect(priority("lb2")).toBe(100);
  });

  it("carries the VIP on the configured interface and tracks HAProxy", () => {
    expect(conf("lb1")).toContain("10.251.17.50/24 dev eth0");
    expect(conf("lb1")).toContain('script "/etc/keepalived/check-haproxy.sh"');
  });

  it("has no notify_master without keepalived.notifyMasterCommand", () => {
    const spec = stackSpec("lab");
    delete spec.keepalived!.notifyMasterCommand;
    const without = renderAll(resolveValidCluster(spec, "lab"));
    expect(file(without, "lb1/etc/keepalived/keepalived.conf")).not.toContain("notify_master");
    expect([...without.keys()].some((k) => k.endsWith("notify-master.sh"))).toBe(false);
  });

  it("runs notify_master when keepalived.notifyMasterCommand is set", () => {
    const spec = stackSpec("lab");
    spec.keepalived!.notifyMasterCommand = "/usr/local/bin/move-secondary-ip 10.251.17.50";
    const withNotify = renderAll(resolveValidCluster(spec, "lab"));
    for (const host of ["lb1", "lb2"]) {
      expect(file(withNotify, `${host}/etc/keepalived/keepalived.conf`)).toContain('notify_master "/etc/keepalived/notify-master.sh"');
      expect(file(withNotify, `${host}/etc/keepalived/notify-master.sh`)).toContain("\n/usr/local/bin/move-secondary-ip 10.251.17.50\n");
      expect(stepFile(withNotify, host, "proxy-notify-master")).toContain("/etc/keepalived/notify-master.sh");
    }
  });
});

describe("etcd", () => {
  it.each([
    ["lab", "etcd1/etc/default/etcd", "etcd1=https://10.251.17.11:2380,etcd2=https://10.251.17.12:2380,etcd3=https://10.251.17.13:2380"],
    ["lab-plain", "etcd1/etc/default/etcd", "etcd1=http://10.251.17.11:2380,etcd2=http://10.251.17.12:2380,etcd3=http://10.251.17.13:2380"],
    ["onprem-rhel", "dcs2/etc/etcd/etcd.conf", "dcs1=https://10.20.1.11:2380,dcs2=https://10.20.1.12:2380,dcs3=https://10.20.1.13:2380"],
  ])("%s: ETCD_INITIAL_CLUSTER lists all three members", (stack, key, members) => {
    const conf = file(renderAll(stackCluster(stack)), key);
    expect(conf).toContain(`ETCD_INITIAL_CLUSTER="${members}"\n`);
    expect(conf).toContain('ETCD_INITIAL_CLUSTER_STATE="new"');
  });
});

describe("secrets", () => {
  const c = stackCluster("lab");
  const secrets: ClusterSecrets = {
    superuserPassword: "Sup3r-9f2kq-Zebra",
    replicationPassword: "Repl-x81Lm-Quokka",
    rewindPassword: "Rew1nd-44tt-Ibis",
    adminPassword: "Adm1n-0pq7-Okapi",
    restApiPassword: "RestApi-5uv3-Lynx",
    userPasswords: { app: "AppUser-8yy1-Tapir" },
    scramSalts: Object.fromEntries(["postgres", "replicator", "rewind_user", "admin", "app"].map((role, i) => [role, Buffer.alloc(16, i + 1).toString("base64")])),
    // The certificates and keys: their own placeholders (their rules are test/tls.test.ts's).
    tls: placeholderSecrets(c).tls,
  };
  const all = [secrets.superuserPassword, secrets.replicationPassword, secrets.rewindPassword, secrets.adminPassword, secrets.restApiPassword, secrets.userPasswords.app];
  const rendered = renderAll(c, secrets);

  it("never appear in a step script", () => {
    for (const [key, content] of filesMatching(rendered, /\/steps\/.*\.sh$/)) {
      for (const secret of all) expect(content.includes(secret), `${secret} in ${key}`).toBe(false);
    }
  });

  it("reach the files that need them (so the check above looks in the right place)", () => {
    const patroni = file(rendered, "pg2/etc/patroni/config.yml");
    for (const s of [secrets.superuserPassword, secrets.replicationPassword, secrets.rewindPassword, secrets.restApiPassword]) expect(patroni).toContain(s);
  });

  it("reach the roles SQL only as SCRAM verifiers", () => {
    // Standard input of the roles step: the superuser's password on the first line (to log in), then the SQL.
    const [login, ...lines] = stepFile(rendered, "pg1", "roles", ".stdin").split("\n");
    expect(login).toBe(secrets.superuserPassword);
    const sql = lines.join("\n");
    for (const secret of all) expect(sql).not.toContain(secret);
    expect(sql).toContain(`PASSWORD '${scramSha256Verifier(secrets.userPasswords.app, secrets.scramSalts.app)}'`);
    expect(sql).toContain(`PASSWORD '${scramSha256Verifier(secrets.adminPassword, secrets.scramSalts.admin)}'`);
  });

  it("reach the credentials step (superuser, replication, rewind) only as SCRAM verifiers with each role's own salt", () => {
    const [login, ...lines] = stepFile(rendered, "pg1", "patroni-credentials", ".stdin").split("\n");
    expect(login).toBe(secrets.superuserPassword);
    const sql = lines.join("\n");
    for (const secret of all) expect(sql).not.toContain(secret);
    expect(sql).toContain(`ALTER ROLE "postgres" WITH PASSWORD '${scramSha256Verifier(secrets.superuserPassword, secrets.scramSalts.postgres)}';`);
    expect(sql).toContain(`ALTER ROLE "replicator" WITH PASSWORD '${scramSha256Verifier(secrets.replicationPassword, secrets.scramSalts.replicator)}';`);
    expect(sql).toContain(`ALTER ROLE "rewind_user" WITH PASSWORD '${scramSha256Verifier(secrets.rewindPassword, secrets.scramSalts.rewind_user)}';`);
  });
});

describe("RHEL layout (onprem-rhel: Rocky 9, PGDG 16)", () => {
  const rendered = renderAll(stackCluster("onprem-rhel"));

  it("puts patroni.yml and etcd.conf at the RHEL paths", () => {
    expect(rendered.has("db1/etc/patroni/patroni.yml")).toBe(true);
    expect(rendered.has("dcs1/etc/etcd/etcd.conf")).toBe(true);
    expect([...rendered.keys()].some((k) => k.includes("etc/default/") || k.endsWith("config.yml"))).toBe(false);
  });

  it("points Patroni at PGDG 16's binaries and data directory", () => {
    const yml = parse(file(rendered, "db1/etc/patroni/patroni.yml"), { version: "1.1" }) as Record<string, any>;
    expect(yml.postgresql.bin_dir).toBe("/usr/pgsql-16/bin");
    expect(yml.postgresql.data_dir).toBe("/var/lib/pgsql/16/data");
    expect(yml.postgresql.parameters.unix_socket_directories).toBe("/run/postgresql");
  });

  it("installs with dnf from PGDG, never apt", () => {
    for (const [key, script] of filesMatching(rendered, /\/steps\/\d\d-(etcd|patroni|proxy)-install\.sh$/)) {
      expect(script, key).toMatch(/dnf install -y -q/);
      expect(script, key).not.toMatch(/apt-get/);
    }
    expect(stepFile(rendered, "db1", "patroni-install")).toMatch(/install_packages postgresql16-server postgresql16-contrib patroni patroni-etcd/);
    expect(stepFile(rendered, "db1", "patroni-install")).toContain("pgdg-redhat-repo");
  });

  it("carries the member tags (clonefrom on unless the host says otherwise)", () => {
    const yml = parse(file(rendered, "db3/etc/patroni/patroni.yml"), { version: "1.1" }) as Record<string, any>;
    expect(yml.tags).toEqual({ nofailover: true, noloadbalance: true, nosync: false, clonefrom: true });
  });
});

describe("scramSha256Verifier", () => {
  /** Hi() of RFC 5802 §2.2, written out with HMAC rather than pbkdf2, to be independent of the code under test. */
  function hi(password: string, salt: Buffer, iterations: number): Buffer {
    let u = createHmac("sha256", password).update(Buffer.concat([salt, Buffer.from([0, 0, 0, 1])])).digest();
    const result = Buffer.from(u);
    for (let i = 1; i < iterations; i++) {
      u = createHmac("sha256", password).update(u).digest();
      for (let j = 0; j < result.length; j++) result[j] ^= u[j];
    }
    return result;
  }
  const hmac = (key: Buffer, text: string) => createHmac("sha256", key).update(text).digest();
  const sha256 = (data: Buffer) => createHash("sha256").update(data).digest();

  it("the reference computation reproduces RFC 7677's example exchange", () => {
    // RFC 7677 §3: user "user", password "pencil".
    const salted = hi("pencil", Buffer.from("W22ZaJ0SNY7soEsUEjb6gQ==", "base64"), 4096);
    const authMessage =
      "n=user,r=rOprNGfwEbeRWgbNEkqO," +
      "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096," +
      "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
    const clientKey = hmac(salted, "Client Key");
    const clientSignature = hmac(sha256(clientKey), authMessage);
    const proof = Buffer.from(clientKey.map((b, i) => b ^ clientSignature[i]));
    expect(proof.toString("base64")).toBe("dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=");
    expect(hmac(hmac(salted, "Server Key"), authMessage).toString("base64")).toBe("6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
  });

  it.each([
    ["AppUser-8yy1-Tapir", "W22ZaJ0SNY7soEsUEjb6gQ=="],
    ["pencil", Buffer.alloc(16, 7).toString("base64")],
  ])("the verifier of %s matches RFC 7677 StoredKey and ServerKey for its salt", (password, givenSalt) => {
    const verifier = scramSha256Verifier(password, givenSalt);
    const m = /^SCRAM-SHA-256\$(\d+):([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+):([A-Za-z0-9+/=]+)$/.exec(verifier);
    expect(m, verifier).not.toBeNull();
    const [, iterations, salt, storedKey, serverKey] = m!;
    expect(Number(iterations)).toBe(4096);
    expect(salt).toBe(givenSalt);
    const salted = hi(password, Buffer.from(salt, "base64"), Number(iterations));
    expect(storedKey).toBe(sha256(hmac(salted, "Client Key")).toString("base64"));
    expect(serverKey).toBe(hmac(salted, "Server Key").toString("base64"));
  });

  it("refuses a salt shorter than 16 bytes", () => {
    expect(() => scramSha256Verifier("pw", Buffer.alloc(8).toString("base64"))).toThrow(/at least 16 bytes/);
  });
});

describe("the watchdog, as the install step prepares it (its block run with a stand-in modprobe, under a scratch root)", () => {
    const block = (mode: "automatic" | "required") => {
        const lab = readStackSettings("lab").cluster;
        const c: ResolvedCluster = { ...lab, patroni: { ...lab.patroni, watchdog: mode } };
        const script = installScript(c, "patroni", c.hosts.patroni[0]);
        const m = /\n(# Watchdog:[\s\S]*?\nfi\n)patroni --version/.exec(script);
        if (!m) throw new Error("no watchdog block in the install step");
        return m[1];
    };
    const runBlock = (mode: "automatic" | "required", modprobe: "loads" | "fails") => {
        const root = fs.mkdtempSync(path.join(os.tmpdir(), "watchdog-"));
        try {
            fs.mkdirSync(path.join(root, "bin"));
            fs.mkdirSync(path.join(root, "dev"));
            // The stand-in modprobe makes the device when it "loads" softdog; chown of it is the stand-in's too.
            fs.writeFileSync(path.join(root, "bin", "modprobe"), modprobe === "loads" ? `#!/bin/bash\ntouch ${root}/dev/watchdog\n` : "#!/bin/bash\nexit 1\n", { mode: 0o755 });
            fs.writeFileSync(path.join(root, "bin", "chown"), "#!/bin/bash\nexit 0\n", { mode: 0o755 });
            const text = block(mode).replaceAll("/etc/", `${root}/etc/`).replaceAll("/dev/watchdog", `${root}/dev/watchdog`);
            // stdin is not the runner's: bash reads /etc/bash.bashrc when its stdin is a network connection.
            const r = spawnSync("bash", ["-euo", "pipefail", "-c", text], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, PATH: `${root}/bin:${process.env.PATH}` } });
            const conf = path.join(root, "etc", "modules-load.d", "softdog.conf");
            return { status: r.status, stderr: r.stderr, bootConf: fs.existsSync(conf) ? fs.readFileSync(conf, "utf8") : undefined };
        } finally {
            fs.rmSync(root, { recursive: true, force: true });
        }
    };

    it("configures softdog to load at every boot, also where it cannot be loaded now, and says so", () => {
        const loaded = runBlock("automatic", "loads");
        expect(loaded).toEqual({ status: 0, stderr: "", bootConf: "softdog\n" });
        const notNow = runBlock("automatic", "fails");
        expect(notNow.status).toBe(0);
        expect(notNow.bootConf).toBe("softdog\n");
        expect(notNow.stderr).toContain("softdog could not be loaded (no kernel modules here); watchdog mode is automatic");
    });

    it("fails the install where the watchdog is required and there is none", () => {
        const r = runBlock("required", "fails");
        expect(r.status).toBe(1);
        expect(r.bootConf).toBe("softdog\n");
        expect(r.stderr).toMatch(/patroni\.watchdog is required \(the default\) but pg1 has no \S*\/dev\/watchdog/);
        expect(r.stderr).toMatch(/Fix: .*softdog.*set patroni\.watchdog: automatic/);
        expect(runBlock("required", "loads").status).toBe(0);
    });
});
