// TLS material (issue 15, Deliver 1): with `tls.enabled` the component issues a CA and one certificate
// per host with @pulumi/tls, and the plan puts each role's files on its hosts — from standard input,
// the key 0600 and owned by the service's user; without it, nothing changes.
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import { PostgresHaCluster, sshConnections } from "../components/postgres-ha-cluster";
import { formatIssue, resolveValidCluster, validateCluster } from "../model/validate";
import { buildPatroniConfig } from "../render/patroni";
import type { ClusterSpec } from "../model/types";
import { clusterPlan, placeholderSecrets, stepText } from "../render/plan";
import { TLS_DIRS } from "../render/tls";
import { certificateHosts } from "../model/resolve";
import { tlsGuardScript, tlsGuardStdin } from "../render/files";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const registered: Array<{ type: string; name: string; inputs: Record<string, unknown> }> = [];

beforeAll(async () => {
    await pulumi.runtime.setMocks(
        {
            newResource: (args) => {
                registered.push({ type: args.type, name: args.name, inputs: args.inputs });
                const pem = (kind: string) => `-----BEGIN ${kind}-----\n${args.name}\n-----END ${kind}-----\n`;
                const outputs: Record<string, unknown> = {
                    "tls:index/privateKey:PrivateKey": { privateKeyPem: pem("EC PRIVATE KEY") },
                    "tls:index/selfSignedCert:SelfSignedCert": { certPem: pem("CERTIFICATE") },
                    "tls:index/certRequest:CertRequest": { certRequestPem: pem("CERTIFICATE REQUEST") },
                    "tls:index/locallySignedCert:LocallySignedCert": { certPem: pem("CERTIFICATE") },
                    "random:index/randomId:RandomId": { b64Std: Buffer.from("0123456789abcdef").toString("base64") },
                    "random:index/randomPassword:RandomPassword": { result: `pw-${args.name}` },
                }[args.type] ?? {};
                return { id: `${args.name}-id`, state: { ...args.inputs, ...(outputs as object) } };
            },
            call: (args) => args.inputs,
        },
        "tls-test",
        "test",
        true,
    );
});

const spec = (enabled: boolean): ClusterSpec => ({
    scope: "shop",
    hosts: {
        etcd: [1, 2, 3].map((i) => ({ name: `etcd${i}`, address: `10.0.0.1${i}` })),
        patroni: [1, 2, 3].map((i) => ({ name: `pg${i}`, address: `10.0.0.2${i}` })),
        haproxy: [1, 2].map((i) => ({ name: `lb${i}`, address: `10.0.0.3${i}` })),
    },
    keepalived: { vip: "10.0.0.50" },
    tls: { enabled },
});

describe("TLS material", () => {
    it("issues a CA and a certificate per host for every name the host is reached by", async () => {
        const s = spec(true);
        new PostgresHaCluster("shop", { cluster: s, connections: sshConnections(s, { user: "root", privateKey: pulumi.secret("key") }) });
        await new Promise((r) => setTimeout(r, 500));
        const of = (type: string) => registered.filter((r) => r.type === `tls:index/${type}`);
        expect(of("privateKey:PrivateKey").map((r) => r.name).sort()).toEqual(["shop-tls-ca-key", ...["etcd1", "etcd2", "etcd3", "pg1", "pg2", "pg3"].map((h) => `shop-tls-${h}-key`)].sort());
        // A balancer only verifies: no certificate of its own.
        expect(of("locallySignedCert:LocallySignedCert").map((r) => r.name)).not.toContain("shop-tls-lb1-cert");
        expect(of("privateKey:PrivateKey").every((r) => r.inputs.algorithm === "ECDSA" && r.inputs.ecdsaCurve === "P256")).toBe(true);
        const [ca] = of("selfSignedCert:SelfSignedCert");
        expect(ca.inputs).toMatchObject({ isCaCertificate: true, validityPeriodHours: 3650 * 24, subject: { commonName: "shop cluster CA" } });
        const csr = (host: string) => of("certRequest:CertRequest").find((r) => r.name === `shop-tls-${host}-csr`)!.inputs;
        // A member is also reached through the front door (clients verify the VIP's address); an etcd host is not.
        expect(csr("pg2")).toMatchObject({ dnsNames: ["pg2", "localhost"], ipAddresses: ["10.0.0.22", "127.0.0.1", "10.0.0.50"], subject: { commonName: "pg2" } });
        expect(csr("etcd1")).toMatchObject({ dnsNames: ["etcd1", "localhost"], ipAddresses: ["10.0.0.11", "127.0.0.1"] });
        const cert = of("locallySignedCert:LocallySignedCert").find((r) => r.name === "shop-tls-etcd1-cert")!.inputs;
        expect(cert).toMatchObject({ validityPeriodHours: 365 * 24, earlyRenewalHours: 30 * 24, allowedUses: ["digital_signature", "key_encipherment", "server_auth", "client_auth"] });
    });

    it("puts each role's files on its hosts before the service starts: CA, certificate, key 0600 owned by the service", () => {
        const c = resolveValidCluster(spec(true), "shop");
        const plan = clusterPlan(c);
        const secrets = placeholderSecrets(c);
        const tlsSteps = plan.filter((s) => s.file?.id.startsWith("tls-"));
        expect(tlsSteps.map((s) => s.key).sort()).toEqual(
            [
                ...["etcd1", "etcd2", "etcd3"].flatMap((h) => ["ca", "cert", "key"].map((f) => `etcd/tls-${f}-${h}`)),
                ...["pg1", "pg2", "pg3"].flatMap((h) => ["ca", "cert", "key"].map((f) => `patroni/tls-${f}-${h}`)),
                ...["lb1", "lb2"].map((h) => `proxy/tls-ca-${h}`),
            ].sort(),
        );
        const key = plan.find((s) => s.key === "patroni/tls-key-pg1")!;
        expect(key.file).toMatchObject({ path: `${TLS_DIRS.patroni.dir}/host.key`, mode: "0600", owner: "postgres:postgres" });
        expect(stepText(key.stdin!, secrets, "")).toBe("<secret:tls.hosts.pg1.key>\n");
        expect(typeof key.stdin).toBe("object"); // rendered from the secrets: never in a command line
        expect(plan.find((s) => s.key === "etcd/tls-cert-etcd2")!.file).toMatchObject({ path: "/etc/etcd/tls/host.crt", mode: "0644", owner: "etcd:etcd" });
        // A renewed certificate restarts etcd member by member: each start applies its TLS files (hashes in its secret script).
        const etcdStart = plan.find((s) => s.key === "etcd/start-etcd1")!;
        expect(etcdStart.applies).toEqual(expect.arrayContaining(["etcd/tls-ca-etcd1", "etcd/tls-cert-etcd1", "etcd/tls-key-etcd1"]));
        expect(typeof etcdStart.script).toBe("object");
        expect(stepText(etcdStart.script, secrets, "")).toContain(`${TLS_DIRS.etcd.dir}/host.key`);
        // Each start waits for its host's files.
        expect(plan.find((s) => s.key === "etcd/start-etcd1")!.dependsOn).toEqual(expect.arrayContaining(["etcd/tls-ca-etcd1", "etcd/tls-cert-etcd1", "etcd/tls-key-etcd1"]));
        expect(plan.find((s) => s.key === "patroni/start-pg3")!.dependsOn).toEqual(expect.arrayContaining(["patroni/tls-key-pg3"]));
        expect(plan.find((s) => s.key === "proxy/start-lb2")!.dependsOn).toEqual(expect.arrayContaining(["proxy/tls-ca-lb2"]));
    });

    it("refuses to turn TLS on under a running plain-text etcd member, before its configuration is written", () => {
        const c = resolveValidCluster(spec(true), "shop");
        const plan = clusterPlan(c);
        expect(plan.find((s) => s.key === "etcd/etcd-conf-etcd2")!.dependsOn).toContain("etcd/tls-guard-etcd2");
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tls-guard-"));
        const guard = (config: string | undefined) => {
            const file = path.join(dir, "etcd");
            fs.rmSync(file, { force: true });
            if (config !== undefined) fs.writeFileSync(file, config);
            const script = tlsGuardScript({ ...c, layout: { ...c.layout, etcdConfigPath: file } }, c.hosts.etcd[1], "etcd").replaceAll(TLS_DIRS.etcd.dir, dir);
            return spawnSync("bash", ["-c", script], { encoding: "utf8", input: tlsGuardStdin(c.hosts.etcd[1], "etcd", placeholderSecrets(c)) });
        };
        const plain = guard('ETCD_LISTEN_PEER_URLS="http://10.0.0.12:2380"\n');
        expect(plain.status).toBe(1);
        expect(plain.stderr).toContain("etcd on etcd2 runs without TLS");
        expect(plain.stderr).toContain("Fix: set tls.enabled: false for this stack");
        expect(guard('ETCD_LISTEN_PEER_URLS="https://10.0.0.12:2380"\n').status).toBe(0); // already TLS (no CA file here: a new host)
        expect(guard(undefined).status).toBe(0); // a new member
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it.each([
        ["", (s: ClusterSpec): ClusterSpec => s, []],
        // The backup repository host serves TLS (pgBackRest's server): it has a guard, and its files wait for etcd's health gate.
        [" (and the backup repository host's)", (s: ClusterSpec): ClusterSpec => ({ ...s, hosts: { ...s.hosts, backup: [{ name: "bk1", address: "10.0.0.41" }] }, backup: { enabled: true } }), ["etcd/tls-guard-backup-bk1"]],
    ])("TLS is the default; every file step and the password change wait for every host's guard%s (a plain-text etcd, a certificate no host could verify), directly or through etcd's health gate", (_name, withHosts, extraGuards) => {
        const { tls: _, ...unset } = withHosts(spec(true));
        expect(resolveValidCluster(unset, "shop").tls.enabled).toBe(true);
        const steps = clusterPlan(resolveValidCluster(unset, "shop"));
        const guards = steps.filter((s) => /\/tls-guard-/.test(s.key)).map((s) => s.key);
        expect(guards.sort()).toEqual(
            [
                ...["etcd1", "etcd2", "etcd3"].map((h) => `etcd/tls-guard-${h}`),
                ...["pg1", "pg2", "pg3"].map((h) => `etcd/tls-guard-patroni-${h}`),
                ...["lb1", "lb2"].map((h) => `etcd/tls-guard-haproxy-${h}`),
                ...extraGuards,
            ].sort(),
        );
        if (extraGuards.length > 0) {
            // The repository host's certificate and its server's files: backup steps, behind etcd's health gate.
            const backupFiles = steps.filter((s) => s.component === "backup" && s.file !== undefined).map((s) => s.key);
            expect(backupFiles).toEqual(expect.arrayContaining(["backup/tls-ca-bk1", "backup/tls-cert-bk1", "backup/tls-key-bk1", "backup/pgbackrest-conf-bk1"]));
        }
        // The guards read files only and wait for nothing: on a new cluster they pass at once.
        for (const g of guards) expect(steps.find((s) => s.key === g)!.dependsOn).toEqual([]);
        const changing = steps.filter((s) => s.file !== undefined || s.key === "patroni/credentials");
        expect(changing.length).toBeGreaterThan(20);
        // etcd's own files wait for every guard; the others for etcd's health gate, which runs only after every guard.
        const health = steps.find((s) => s.key === "etcd/health")!;
        const before = (key: string, seen = new Set<string>()): Set<string> => {
            for (const d of [...steps.find((s) => s.key === key)!.dependsOn, ...steps.find((s) => s.key === key)!.after]) if (!seen.has(d)) (seen.add(d), before(d, seen));
            return seen;
        };
        expect([...before(health.key)]).toEqual(expect.arrayContaining(guards));
        for (const step of changing) expect(step.dependsOn, step.key).toEqual(expect.arrayContaining(step.component === "etcd" ? guards : [health.key]));
    });

    it("the backup repository host gets a certificate (pgBackRest's TLS server serves it), a balancer none", () => {
        const s: ClusterSpec = { ...spec(true), hosts: { ...spec(true).hosts, backup: [{ name: "bk1", address: "10.0.0.41" }] }, backup: { enabled: true } };
        const c = resolveValidCluster(s, "shop");
        expect(certificateHosts(c).map((h) => h.name)).toEqual(["etcd1", "etcd2", "etcd3", "pg1", "pg2", "pg3", "bk1"]);
        expect(tlsGuardStdin(c.hosts.backup[0], "backup", placeholderSecrets(c))).toBe("<secret:tls.ca.cluster>\n# certificate\n<secret:tls.hosts.bk1.cert>\n");
        expect(tlsGuardScript(c, c.hosts.backup[0], "backup")).toContain(`current='${TLS_DIRS.backup.dir}/host.crt'`);
    });

    it("without tls.enabled the plan is what it was: no TLS step, no dependency on one", () => {
        const plain = clusterPlan(resolveValidCluster(spec(false), "shop"));
        expect(plain.some((s) => s.key.includes("tls-") || s.dependsOn.some((d) => d.includes("tls-")))).toBe(false);
    });

    it("a certificate outliving its CA, or renewed only after it expires, is refused", () => {
        const bad = { ...spec(true), tls: { enabled: true, certificateValidityDays: 30, renewBeforeDays: 30, caValidityDays: 20 } };
        expect(() => resolveValidCluster(bad, "shop")).toThrow(/tls\.renewBeforeDays: must be at least 1 and less than certificateValidityDays \(30\)[\s\S]*tls\.caValidityDays: must be more than certificateValidityDays/);
    });
});

/** openssl in a scratch directory: CAs and host certificates as a rotation meets them. */
function scratchPki(dir: string) {
    const openssl = (...args: string[]) => {
        const r = spawnSync("openssl", args, { encoding: "utf8", cwd: dir });
        if (r.status !== 0) throw new Error(`openssl ${args.join(" ")}: ${r.stderr}`);
    };
    /** A CA as RFC 5280 wants it (keyUsage keyCertSign), or `loose`: openssl req's default, without keyUsage. */
    const ca = (name: string, loose = false) => {
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", `/CN=${name}`, ...(loose ? [] : ["-addext", "keyUsage=critical,keyCertSign,cRLSign"]), "-days", "30", "-keyout", `${name}.key`, "-out", `${name}.crt`);
        return { cert: fs.readFileSync(path.join(dir, `${name}.crt`), "utf8"), key: fs.readFileSync(path.join(dir, `${name}.key`), "utf8") };
    };
    const host = (name: string, signer: string) => {
        openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", `/CN=${name}`, "-keyout", `${name}.key`, "-out", `${name}.csr`);
        openssl("x509", "-req", "-in", `${name}.csr`, "-CA", `${signer}.crt`, "-CAkey", `${signer}.key`, "-CAcreateserial", "-days", "10", "-out", `${name}.crt`);
        return fs.readFileSync(path.join(dir, `${name}.crt`), "utf8");
    };
    return { ca, host };
}

describe("a CA rotation (Deliver 6): three runs, none of which leaves a host unable to verify another", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tls-rotation-"));
    const pki = scratchPki(dir);
    const old = pki.ca("old-ca");
    const next = pki.ca("next-ca");
    const fromOld = pki.host("pg1-old", "old-ca");
    const fromNext = pki.host("pg1-next", "next-ca");
    const c = resolveValidCluster(spec(true), "shop");
    const member = c.hosts.patroni[0];
    const files = path.join(dir, "host");
    /** The guard of pg1's Patroni files, with these files on the host now and these coming. */
    const guard = (now: { cas: string[]; cert?: string }, coming: { cas: string[]; cert: string }) => {
        fs.rmSync(files, { recursive: true, force: true });
        fs.mkdirSync(files);
        if (now.cas.length > 0) fs.writeFileSync(path.join(files, "ca.crt"), now.cas.join(""));
        if (now.cert) fs.writeFileSync(path.join(files, "host.crt"), now.cert);
        const secrets = { ...placeholderSecrets(c), tls: { caCert: coming.cas.join(""), hosts: { [member.name]: { cert: coming.cert, key: "" } } } };
        const script = tlsGuardScript(c, member, "patroni").replaceAll(TLS_DIRS.patroni.dir, files);
        return spawnSync("bash", ["-c", script], { encoding: "utf8", input: tlsGuardStdin(member, "patroni", secrets) });
    };

    it("lets each run of a rotation through: a renewal, trust the new CA, sign with it, drop the old one", () => {
        const steps = [
            { name: "renewal", now: { cas: [old.cert], cert: fromOld }, coming: { cas: [old.cert], cert: fromOld } },
            { name: "1. trust next", now: { cas: [old.cert], cert: fromOld }, coming: { cas: [old.cert, next.cert], cert: fromOld } },
            { name: "2. sign with next", now: { cas: [old.cert, next.cert], cert: fromOld }, coming: { cas: [next.cert, old.cert], cert: fromNext } },
            { name: "3. drop old", now: { cas: [next.cert, old.cert], cert: fromNext }, coming: { cas: [next.cert], cert: fromNext } },
            { name: "a new host", now: { cas: [] }, coming: { cas: [next.cert], cert: fromNext } },
        ];
        for (const step of steps) {
            const r = guard(step.now, step.coming);
            expect(r.status, `${step.name}: ${r.stderr}`).toBe(0);
        }
    });

    it("refuses signing with a CA the hosts do not trust yet, and dropping the CA a host's certificate still comes from, naming the fix", () => {
        const signedTooSoon = guard({ cas: [old.cert], cert: fromOld }, { cas: [next.cert, old.cert], cert: fromNext });
        expect(signedTooSoon.status).toBe(1);
        expect(signedTooSoon.stderr).toContain('the new certificate comes from CA "CN = next-ca", which the hosts do not trust yet');
        expect(signedTooSoon.stderr).toContain("No host's configuration, certificate or key was changed.");
        expect(signedTooSoon.stderr).toContain("Fix: first run with that CA named in tls.trustedCas and tls.signingCa as it was");
        const droppedTooSoon = guard({ cas: [old.cert, next.cert], cert: fromOld }, { cas: [next.cert], cert: fromNext });
        expect(droppedTooSoon.status).toBe(1);
        expect(droppedTooSoon.stderr).toContain('the certificate it serves now comes from CA "CN = old-ca", which the new CAs (tls.signingCa and tls.trustedCas) drop');
        expect(droppedTooSoon.stderr).toContain("Fix: keep that CA in tls.trustedCas for this run, and drop it in the next");
        // All at once (a new CA signing, the old one dropped): refused by the first check.
        expect(guard({ cas: [old.cert], cert: fromOld }, { cas: [next.cert], cert: fromNext }).status).toBe(1);
    });

    it("refuses signing with a CA that Python 3.13 would not accept (no keyUsage: X509_STRICT), though it is trusted and openssl's default check passes", () => {
        const loose = pki.ca("loose-ca", true);
        const fromLoose = pki.host("pg1-loose", "loose-ca");
        const r = guard({ cas: [old.cert, loose.cert], cert: fromOld }, { cas: [loose.cert, old.cert], cert: fromLoose });
        expect(r.status).toBe(1);
        expect(r.stderr).toContain('the new certificate from CA "CN = loose-ca" does not verify as Python 3.13 (Patroni on Debian 13) verifies it: CA cert does not include key usage extension');
        expect(r.stderr).toContain("Fix: sign with a CA whose certificate follows RFC 5280 (keyUsage with keyCertSign");
        expect(spawnSync("openssl", ["verify", "-CAfile", path.join(dir, "loose-ca.crt"), path.join(dir, "pg1-loose.crt")], { encoding: "utf8" }).status).toBe(0);
    });

    it("names the CAs by the spec: the signing one first in the bundle; names are checked", () => {
        const rotating = resolveValidCluster({ ...spec(true), tls: { signingCa: "next", trustedCas: ["cluster"] } }, "shop");
        expect(placeholderSecrets(rotating).tls!.caCert).toBe("<secret:tls.ca.next>\n<secret:tls.ca.cluster>\n");
        const issues = validateCluster({ ...spec(true), tls: { signingCa: "Next CA", trustedCas: ["old", "old", "Next CA"] } }, "shop").map(formatIssue);
        expect(issues).toEqual(
            expect.arrayContaining([
                expect.stringMatching(/^cluster\.tls\.signingCa: must be lowercase letters, digits and '-'.*"next-ca"/),
                expect.stringMatching(/^cluster\.tls\.trustedCas\[1\]: is listed twice/),
                expect.stringMatching(/^cluster\.tls\.trustedCas\[2\]: is cluster\.tls\.signingCa, which is always trusted/),
            ]),
        );
    });

    it("issues the hosts' certificates from signingCa and exports every trusted CA; a CA of the user's own is used as given", async () => {
        const rotating: ClusterSpec = { ...spec(true), scope: "rot", tls: { signingCa: "next", trustedCas: ["cluster"] } };
        const cluster = new PostgresHaCluster("rot", { cluster: rotating, connections: sshConnections(rotating, { user: "root", privateKey: pulumi.secret("key") }) });
        const exported = await new Promise<string | undefined>((r) => cluster.caCertificate.apply(r));
        expect(exported).toBe("-----BEGIN CERTIFICATE-----\nrot-tls-ca-next\n-----END CERTIFICATE-----\n-----BEGIN CERTIFICATE-----\nrot-tls-ca\n-----END CERTIFICATE-----\n");
        await new Promise((r) => setTimeout(r, 500));
        const cert = registered.find((r) => r.name === "rot-tls-pg1-cert")!.inputs;
        expect(String(cert.caCertPem)).toContain("rot-tls-ca-next");
        expect(JSON.stringify(cert.caPrivateKeyPem)).toContain("rot-tls-ca-next-key");

        // A key given as an output is checked once known: the 30-day CA signs 20-day certificates.
        const own: ClusterSpec = { ...spec(true), scope: "own", tls: { signingCa: "corp", certificateValidityDays: 20, renewBeforeDays: 5 } };
        const mine = new PostgresHaCluster("own", {
            cluster: own,
            connections: sshConnections(own, { user: "root", privateKey: pulumi.secret("key") }),
            certificateAuthorities: { corp: { certPem: next.cert, privateKeyPem: pulumi.secret(next.key) } },
        });
        expect(await new Promise<string | undefined>((r) => mine.caCertificate.apply(r))).toBe(next.cert);
        await new Promise((r) => setTimeout(r, 300));
        expect(registered.some((r) => r.name.startsWith("own-tls-ca"))).toBe(false); // nothing made for it
        const ownCert = registered.find((r) => r.name === "own-tls-pg1-cert")!.inputs;
        expect(ownCert.caCertPem).toBe(next.cert);
        expect(JSON.stringify(ownCert.caPrivateKeyPem)).toContain(JSON.stringify(next.key));
    });

    it("refuses a CA of the user's own that is no CA, comes with another key, expires too soon, or is named nowhere", () => {
        const own: ClusterSpec = { ...spec(true), tls: { signingCa: "corp", certificateValidityDays: 60, renewBeforeDays: 10 } };
        const make = (corp: { certPem: string; privateKeyPem: string }, extra: Record<string, { certPem: string; privateKeyPem: string }> = {}) => () =>
            new PostgresHaCluster("bad", { cluster: own, connections: sshConnections(own, { user: "root", privateKey: "key" }), certificateAuthorities: { corp, ...extra } });
        expect(make({ certPem: fromOld, privateKeyPem: next.key })).toThrow(/args\.certificateAuthorities\.corp\.certPem: is not a CA certificate[\s\S]*args\.certificateAuthorities\.corp\.privateKeyPem: is not the key of the CA certificate "CN=pg1-old"/);
        // A 30-day CA cannot sign a 60-day certificate.
        expect(make({ certPem: old.cert, privateKeyPem: old.key })).toThrow(/args\.certificateAuthorities\.corp\.certPem: expires before a host certificate issued now would \(tls\.certificateValidityDays: 60\), and it is tls\.signingCa[\s\S]*Fix: give a CA valid longer, or lower tls\.certificateValidityDays/);
        expect(make({ certPem: "not a pem", privateKeyPem: "nor this" })).toThrow(/corp\.certPem: is not a PEM certificate[\s\S]*corp\.privateKeyPem: is not a PEM private key/);
        const fine = { ...own, tls: { ...own.tls, certificateValidityDays: 20 } };
        expect(() =>
            new PostgresHaCluster("bad2", { cluster: fine, connections: sshConnections(fine, { user: "root", privateKey: "key" }), certificateAuthorities: { corp: { certPem: old.cert, privateKeyPem: old.key }, spare: { certPem: next.cert, privateKeyPem: next.key } } }),
        ).toThrow(/args\.certificateAuthorities\.spare: names no CA in tls\.signingCa or tls\.trustedCas \("corp"\)/);
        // The key is never shown.
        try {
            make({ certPem: old.cert, privateKeyPem: next.key })();
        } catch (e) {
            expect(String(e)).not.toContain("PRIVATE KEY");
        }
    });
});

describe("Patroni and PostgreSQL with TLS (Deliver 3)", () => {
    const withTls = (patroni: ClusterSpec["patroni"]): ClusterSpec => ({ ...spec(true), patroni });
    const config = (s: ClusterSpec) => buildPatroniConfig(resolveValidCluster(s, "shop"), resolveValidCluster(s, "shop").hosts.patroni[1], placeholderSecrets(resolveValidCluster(s, "shop")));

    it("serves the REST API on HTTPS (a cluster certificate for the endpoints that change state), PostgreSQL with ssl on and hostssl only, and verifies every member it dials", () => {
        const p = config(spec(true));
        expect(p.restapi).toMatchObject({ certfile: "/etc/patroni/tls/host.crt", keyfile: "/etc/patroni/tls/host.key", cafile: "/etc/patroni/tls/ca.crt", verify_client: "optional" });
        expect(p.ctl).toEqual({ cacert: "/etc/patroni/tls/ca.crt", certfile: "/etc/patroni/tls/host.crt", keyfile: "/etc/patroni/tls/host.key" });
        expect(p.postgresql.parameters).toMatchObject({ ssl: "on", ssl_cert_file: "/etc/patroni/tls/host.crt", ssl_key_file: "/etc/patroni/tls/host.key", ssl_ca_file: "/etc/patroni/tls/ca.crt", ssl_min_protocol_version: "TLSv1.2" });
        for (const who of ["superuser", "replication", "rewind"] as const) {
            expect(p.postgresql.authentication[who]).toMatchObject({ sslmode: "verify-full", sslrootcert: "/etc/patroni/tls/ca.crt" });
        }
        const tcp = p.postgresql.pg_hba.filter((l) => !l.startsWith("local"));
        expect(tcp.length).toBeGreaterThan(5);
        for (const line of tcp) expect(line).toMatch(/^hostssl /);
        expect(p.bootstrap.pg_hba).toEqual(p.postgresql.pg_hba);
    });

    it("without TLS: plain http, host lines, no ssl settings", () => {
        const p = config(spec(false));
        expect(p.restapi.certfile).toBeUndefined();
        expect(p.ctl).toBeUndefined();
        expect(p.postgresql.parameters.ssl).toBeUndefined();
        expect(p.postgresql.authentication.replication.sslmode).toBeUndefined();
        expect(p.postgresql.pg_hba.filter((l) => l.startsWith("hostssl"))).toEqual([]);
    });

    it("a spec may raise the minimum protocol to TLSv1.3, and it is written where it wins (the member's own file)", () => {
        expect(config(withTls({ parameters: { ssl_min_protocol_version: "TLSv1.3" } })).postgresql.parameters.ssl_min_protocol_version).toBe("TLSv1.3");
    });

    it("refuses PostgreSQL TLS settings of the spec's own, and pg_hba lines that admit plain text, naming the fix", () => {
        const issues = validateCluster(withTls({ parameters: { ssl: "off", ssl_min_protocol_version: "TLSv1.1", ssl_cert_file: "/tmp/x.crt" }, pgHba: ["host all app 10.1.0.0/16 scram-sha-256", "hostnossl all app 10.2.0.0/16 scram-sha-256", "hostssl all app 10.3.0.0/16 scram-sha-256"] }), "shop");
        const messages = issues.map(formatIssue);
        expect(issues.map((i) => i.setting).sort()).toEqual(["cluster.patroni.parameters.ssl", "cluster.patroni.parameters.ssl_cert_file", "cluster.patroni.parameters.ssl_min_protocol_version", "cluster.patroni.pgHba[0]", "cluster.patroni.pgHba[1]"]);
        expect(messages.find((m) => m.includes("pgHba[0]"))).toContain('Fix: write "hostssl all app 10.1.0.0/16 scram-sha-256"');
        expect(messages.find((m) => m.includes("ssl_min_protocol_version"))).toContain('Fix: remove it, or use "TLSv1.3"');
        expect(messages.find((m) => m.includes("parameters.ssl:") || m.includes("parameters.ssl "))).toContain("set cluster.tls.enabled: false");
        // Without TLS the same spec is the user's business.
        expect(validateCluster({ ...withTls({ pgHba: ["host all app 10.1.0.0/16 scram-sha-256"] }), tls: { enabled: false } }, "shop")).toEqual([]);
    });
});
