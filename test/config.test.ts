// Stack config → program settings, read from the committed stack files the way the program reads them.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { describe, expect, it } from "vitest";
import { parseStackConfig } from "../model/config";
import { STACK_PROVIDERS } from "../providers";
import { ClusterConfigError } from "../model/validate";
import { readStackFile, readStackSettings } from "../tools/render";

/** The lab stack's config, with `changes` applied (a `undefined` value deletes the key). */
function labConfig(changes: Record<string, string | undefined> = {}): Record<string, string> {
  const config: Record<string, string> = { ...readStackFile("lab") };
  for (const [key, value] of Object.entries(changes)) {
    if (value === undefined) delete config[key];
    else config[key] = value;
  }
  return config;
}

function rejection(all: Record<string, string>): ClusterConfigError {
  try {
    parseStackConfig(all, "lab", STACK_PROVIDERS);
  } catch (err) {
    expect(err).toBeInstanceOf(ClusterConfigError);
    return err as ClusterConfigError;
  }
  throw new Error("parseStackConfig accepted the config");
}

describe("the lab stack file", () => {
  const settings = readStackSettings("lab");

  it("reads the cluster on Debian 13 with the distro's PostgreSQL 17", () => {
    expect(settings.provider).toBe("existing");
    expect(settings.cluster.scope).toBe("lab");
    expect(settings.cluster.os).toBe("debian13");
    expect(settings.cluster.packageSource).toBe("distro");
    expect(settings.cluster.postgresVersion).toBe(17);
    expect(settings.cluster.hosts.patroni.map((h) => h.name)).toEqual(["pg1", "pg2", "pg3"]);
    expect(settings.cluster.users).toEqual([{ name: "app", options: [], databases: ["app"] }]);
  });

  it("reads ssh settings, defaulting the port", () => {
    expect(settings.ssh).toEqual({ user: "root", port: 22, privateKeyFile: "/var/lib/pgha-lab/ssh/id_ed25519", proxy: undefined });
  });

  it("keeps the cluster spec as written and supplies no secrets", () => {
    expect(settings.clusterSpec).toEqual(JSON.parse(readStackFile("lab")["pulumi-patroni:cluster"]));
    expect(settings.suppliedSecrets).toEqual({});
    expect(settings.userPasswords).toEqual({});
    expect(settings.machines).toBeUndefined();
  });
});

describe("the onprem-rhel stack file", () => {
  const settings = readStackSettings("onprem-rhel");

  it("reads Rocky 9 with PostgreSQL 16 from PGDG", () => {
    expect(settings.provider).toBe("existing");
    expect(settings.cluster.scope).toBe("orders");
    expect(settings.cluster.os).toBe("rocky9");
    expect(settings.cluster.packageSource).toBe("pgdg");
    expect(settings.cluster.postgresVersion).toBe(16);
    expect(settings.cluster.layout.packageManager).toBe("dnf");
    expect(settings.cluster.keepalived).toMatchObject({ interface: "ens192", virtualRouterId: 77, priorities: [150, 100] });
    expect(settings.cluster.patroni.parameters).toMatchObject({ shared_buffers: "4GB", max_connections: 400, wal_log_hints: "on" });
    expect(settings.cluster.hosts.patroni[2].tags).toEqual({ nofailover: true, noloadbalance: true, nosync: false, clonefrom: true });
  });

  it("reads the bastion, its user given and its port defaulted", () => {
    expect(settings.ssh).toEqual({
      user: "root",
      port: 22,
      privateKeyFile: "~/.ssh/pgha_ed25519",
      proxy: { host: "bastion.example.internal", user: "jump", port: 22, privateKeyFile: undefined },
    });
  });
});

describe("defaults", () => {
  it("provider defaults to existing", () => {
    expect(parseStackConfig(labConfig({ "pulumi-patroni:provider": undefined }), "lab", STACK_PROVIDERS).provider).toBe("existing");
  });

  it("ssh defaults to root on port 22 without a key file or bastion", () => {
    expect(parseStackConfig(labConfig({ "pulumi-patroni:ssh": undefined }), "lab", STACK_PROVIDERS).ssh).toEqual({ user: "root", port: 22, privateKeyFile: undefined, proxy: undefined });
  });

  it("the bastion user defaults to the ssh user", () => {
    const ssh = parseStackConfig(labConfig({ "pulumi-patroni:ssh": JSON.stringify({ user: "deploy", port: 2222, proxy: { host: "bastion" } }) }), "lab", STACK_PROVIDERS).ssh;
    expect(ssh).toEqual({ user: "deploy", port: 2222, privateKeyFile: undefined, proxy: { host: "bastion", user: "deploy", port: 22, privateKeyFile: undefined } });
  });

  it("the scope defaults to the name the program passes (the stack name)", () => {
    const cluster = JSON.parse(readStackFile("lab")["pulumi-patroni:cluster"]) as Record<string, unknown>;
    delete cluster.scope;
    expect(parseStackConfig(labConfig({ "pulumi-patroni:cluster": JSON.stringify(cluster) }), "staging", STACK_PROVIDERS).cluster.scope).toBe("staging");
  });
});

describe("supplied secrets", () => {
  it("reads supplied passwords and role passwords", () => {
    const settings = parseStackConfig(
      labConfig({
        "pulumi-patroni:superuserPassword": "su-pass-1",
        "pulumi-patroni:restApiPassword": "rest-pass-2",
        "pulumi-patroni:userPasswords": JSON.stringify({ app: "app-pass-1" }),
      }),
      "lab",
      STACK_PROVIDERS,
    );
    expect(settings.suppliedSecrets).toEqual({ superuserPassword: "su-pass-1", restApiPassword: "rest-pass-2" });
    expect(settings.userPasswords).toEqual({ app: "app-pass-1" });
    expect(settings.warnings).toEqual([]);
  });

  it("accepts the retired VRRP password with a warning to remove it, and passes it nowhere (VRRPv3 has none)", () => {
    const settings = parseStackConfig(labConfig({ "pulumi-patroni:keepalivedPassword": "kpass123" }), "lab", STACK_PROVIDERS);
    expect(settings.suppliedSecrets).toEqual({});
    expect(settings.warnings).toEqual([
      expect.objectContaining({ setting: "pulumi-patroni:keepalivedPassword", value: "(not shown)", fix: "remove it: pulumi config rm pulumi-patroni:keepalivedPassword" }),
    ]);
    expect(JSON.stringify(settings)).not.toContain("kpass123");
  });

  it("rejects a password for a role cluster.users does not list, without showing it", () => {
    const err = rejection(labConfig({ "pulumi-patroni:userPasswords": JSON.stringify({ app: "app-pass-1", reporting: "rep-pass-9" }) }));
    expect(err.issues).toEqual([expect.objectContaining({ setting: "pulumi-patroni:userPasswords.reporting", value: "(not shown)", rule: "names no role in cluster.users" })]);
    expect(err.message).toContain("Fix: remove it or add the role to cluster.users");
    expect(err.message).not.toContain("rep-pass-9");
  });

  it("takes supplied passwords as written: digits, booleans and quotes stay text", () => {
    const settings = parseStackConfig(
      labConfig({
        "pulumi-patroni:superuserPassword": "12345678",
        "pulumi-patroni:replicationPassword": "true",
        "pulumi-patroni:rewindPassword": '"quoted"',
      }),
      "lab",
      STACK_PROVIDERS,
    );
    expect(settings.suppliedSecrets).toEqual({ superuserPassword: "12345678", replicationPassword: "true", rewindPassword: '"quoted"' });
  });

  it("never shows the value of an unknown key: it may be a misspelt secret", () => {
    const err = rejection(labConfig({ "pulumi-patroni:superuserPasword": "hunter2-secret" }));
    expect(err.issues).toEqual([expect.objectContaining({ setting: "pulumi-patroni:superuserPasword", value: "(not shown)", rule: "is not a known setting" })]);
    expect(err.message).not.toContain("hunter2-secret");
  });

  it("rejects an empty role password", () => {
    const err = rejection(labConfig({ "pulumi-patroni:userPasswords": JSON.stringify({ app: "" }) }));
    expect(err.issues.map((i) => i.setting)).toEqual(["pulumi-patroni:userPasswords.app"]);
  });
});

describe("required and top-level settings", () => {
  it("requires the cluster", () => {
    const err = rejection(labConfig({ "pulumi-patroni:cluster": undefined }));
    expect(err.issues).toEqual([expect.objectContaining({ setting: "pulumi-patroni:cluster", rule: "is required" })]);
    expect(err.message).toContain("see stacks/Pulumi.lab.yaml");
  });

  it("rejects an unknown provider", () => {
    const err = rejection(labConfig({ "pulumi-patroni:provider": "gcp" }));
    expect(err.message).toContain('pulumi-patroni:provider: must be "existing" or "aws" (got "gcp")');
  });

  it("rejects a wrong ssh type", () => {
    const err = rejection(labConfig({ "pulumi-patroni:ssh": JSON.stringify({ port: "22" }) }));
    expect(err.message).toContain('pulumi-patroni:ssh.port: must be an integer (got "22")');
  });

  it("a bastion needs a host", () => {
    const err = rejection(labConfig({ "pulumi-patroni:ssh": JSON.stringify({ proxy: { user: "jump" } }) }));
    expect(err.issues.map((i) => i.setting)).toEqual(["pulumi-patroni:ssh.proxy.host"]);
  });
});

describe("a CA of the user's own (pulumi-patroni:certificateAuthorities, a secret)", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "config-ca-"));
  const r = spawnSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=corp CA", "-days", "3650", "-keyout", `${dir}/ca.key`, "-out", `${dir}/ca.crt`], { encoding: "utf8" });
  expect(r.status, r.stderr).toBe(0);
  const corp = { certPem: fs.readFileSync(`${dir}/ca.crt`, "utf8"), privateKeyPem: fs.readFileSync(`${dir}/ca.key`, "utf8") };
  /** The lab's cluster with `tls` merged in. */
  const withTls = (tls: Record<string, unknown>) => {
    const cluster = JSON.parse(readStackFile("lab")["pulumi-patroni:cluster"]);
    return JSON.stringify({ ...cluster, tls: { ...cluster.tls, ...tls } });
  };

  it("reads it when tls.signingCa or tls.trustedCas names it", () => {
    const settings = parseStackConfig(labConfig({ "pulumi-patroni:cluster": withTls({ trustedCas: ["corp"] }), "pulumi-patroni:certificateAuthorities": JSON.stringify({ corp }) }), "lab", STACK_PROVIDERS);
    expect(settings.certificateAuthorities).toEqual({ corp });
    expect(settings.cluster.tls).toMatchObject({ signingCa: "cluster", trustedCas: ["corp"] });
  });

  it("refuses one named nowhere, one with another CA's key, and a wrong shape, never showing a key", () => {
    const other = spawnSync("openssl", ["genpkey", "-algorithm", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"], { encoding: "utf8" }).stdout;
    const unnamed = rejection(labConfig({ "pulumi-patroni:certificateAuthorities": JSON.stringify({ corp }) }));
    expect(unnamed.issues).toEqual([expect.objectContaining({ setting: "pulumi-patroni:certificateAuthorities.corp", rule: 'names no CA in tls.signingCa or tls.trustedCas ("cluster")' })]);
    const wrongKey = rejection(labConfig({ "pulumi-patroni:cluster": withTls({ signingCa: "corp" }), "pulumi-patroni:certificateAuthorities": JSON.stringify({ corp: { ...corp, privateKeyPem: other } }) }));
    expect(wrongKey.issues).toEqual([expect.objectContaining({ setting: "pulumi-patroni:certificateAuthorities.corp.privateKeyPem", rule: 'is not the key of the CA certificate "CN=corp CA"' })]);
    const shape = rejection(labConfig({ "pulumi-patroni:certificateAuthorities": JSON.stringify({ corp: { certPem: corp.certPem, key: corp.privateKeyPem } }) }));
    expect(shape.issues.map((i) => i.setting)).toEqual(expect.arrayContaining(["pulumi-patroni:certificateAuthorities.corp.privateKeyPem"]));
    for (const err of [unnamed, wrongKey, shape]) expect(err.message).not.toContain("PRIVATE KEY");
  });
});
