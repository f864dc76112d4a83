// The engine stand-in's @pulumi/tls provider (tools/engine/tls.ts): what it issues is what openssl
// accepts — a CA, a host certificate signed by it with the request's names and the usages asked
// for — and a certificate in its renewal window is replaced by the next plan, as the provider does.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { afterAll, describe, expect, it } from "vitest";
import { Deployment } from "../../tools/engine/deployment";
import { readyForRenewal, tlsHandlers } from "../../tools/engine/tls";
import { secretValue } from "../../tools/engine/values";
import type { HandlerContext, ResourceProvider } from "../../tools/engine/types";

const lab = tlsHandlers("lab");
const ctx = {} as HandlerContext;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tls-test-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A handler's state with secret wrappers taken off. */
async function create(type: string, name: string, inputs: Record<string, unknown>): Promise<Record<string, unknown>> {
    const provider = lab[type] as ResourceProvider;
    const { state } = await provider.create({ name, type, inputs, rawInputs: inputs }, ctx);
    return Object.fromEntries(Object.entries(state).map(([k, v]) => [k, JSON.stringify(v) === JSON.stringify(secretValue(String((v as { value?: unknown })?.value ?? ""))) ? (v as { value: unknown }).value : v]));
}

function openssl(args: string[]): string {
    const r = spawnSync("openssl", args, { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`openssl ${args.join(" ")}: ${r.stderr}`);
    return r.stdout;
}

describe("the stand-in's tls provider", () => {
    it("issues a CA and a host certificate that openssl verifies, with the names and usages asked for", async () => {
        const caKey = await create("tls:index/privateKey:PrivateKey", "ca-key", { algorithm: "ECDSA", ecdsaCurve: "P256" });
        expect(String(caKey.privateKeyPem)).toMatch(/^-----BEGIN EC PRIVATE KEY-----/);
        const ca = await create("tls:index/selfSignedCert:SelfSignedCert", "ca", {
            privateKeyPem: caKey.privateKeyPem,
            subject: { commonName: "test CA", organization: "pulumi-patroni" },
            isCaCertificate: true,
            validityPeriodHours: 87600,
            allowedUses: ["cert_signing", "crl_signing"],
        });
        const hostKey = await create("tls:index/privateKey:PrivateKey", "pg1-key", { algorithm: "ECDSA", ecdsaCurve: "P256" });
        const csr = await create("tls:index/certRequest:CertRequest", "pg1-csr", {
            privateKeyPem: hostKey.privateKeyPem,
            subject: { commonName: "pg1" },
            dnsNames: ["pg1", "localhost"],
            ipAddresses: ["10.0.0.21", "127.0.0.1"],
        });
        const cert = await create("tls:index/locallySignedCert:LocallySignedCert", "pg1-cert", {
            certRequestPem: csr.certRequestPem,
            caPrivateKeyPem: caKey.privateKeyPem,
            caCertPem: ca.certPem,
            validityPeriodHours: 8760,
            earlyRenewalHours: 720,
            allowedUses: ["digital_signature", "key_encipherment", "server_auth", "client_auth"],
        });
        for (const [file, pem] of [["ca.pem", ca.certPem], ["pg1.pem", cert.certPem], ["pg1.key", hostKey.privateKeyPem]] as const) fs.writeFileSync(path.join(dir, file), String(pem));
        expect(openssl(["verify", "-CAfile", path.join(dir, "ca.pem"), path.join(dir, "pg1.pem")])).toContain("OK");
        const text = openssl(["x509", "-in", path.join(dir, "pg1.pem"), "-noout", "-text"]);
        expect(text).toMatch(/DNS:pg1, DNS:localhost, IP Address:10\.0\.0\.21, IP Address:127\.0\.0\.1/);
        expect(text).toMatch(/TLS Web Server Authentication, TLS Web Client Authentication/);
        expect(text).toMatch(/CA:FALSE/);
        expect(text).toMatch(/Subject: CN ?= ?pg1/);
        expect(openssl(["x509", "-in", path.join(dir, "ca.pem"), "-noout", "-text"])).toMatch(/CA:TRUE/);
        // The key matches the certificate.
        const pub = (args: string[]) => openssl(args).trim();
        expect(pub(["pkey", "-in", path.join(dir, "pg1.key"), "-pubout"])).toBe(pub(["x509", "-in", path.join(dir, "pg1.pem"), "-noout", "-pubkey"]));
        // Validity as asked: a year, and not yet due for renewal.
        expect(Date.parse(String(cert.validityEndTime)) - Date.parse(String(cert.validityStartTime))).toBe(8760 * 3_600_000);
        expect(cert.readyForRenewal).toBe(false);
    });

    it("a certificate in its renewal window is replaced by the next plan; before it, nothing", () => {
        const provider = lab["tls:index/locallySignedCert:LocallySignedCert"] as ResourceProvider;
        const soon = new Date(Date.now() + 10 * 3_600_000).toISOString();
        const later = new Date(Date.now() + 100 * 24 * 3_600_000).toISOString();
        expect(provider.mustReplace!({ inputs: { earlyRenewalHours: 720 }, outputs: { validityEndTime: soon } })).toBe("readyForRenewal");
        expect(provider.mustReplace!({ inputs: { earlyRenewalHours: 720 }, outputs: { validityEndTime: later } })).toBeUndefined();
        expect(readyForRenewal(later, 0)).toBe(false);
        expect(lab["tls:index/privateKey:PrivateKey"].update).toBeUndefined(); // every input change replaces
    });

    it("as the engine decides: early_renewal_hours alone updates in place (the certificate kept) unless the new window reaches now; anything else replaces", async () => {
        const type = "tls:index/locallySignedCert:LocallySignedCert";
        const provider = lab[type] as ResourceProvider;
        const inputs = { caCertPem: "ca", caPrivateKeyPem: "key", certRequestPem: "csr", validityPeriodHours: 8760, allowedUses: ["server_auth"], earlyRenewalHours: 720 };
        const end = new Date(Date.now() + 8760 * 3_600_000).toISOString();
        const stored = { urn: "urn:cert", name: "cert", type, custom: true, id: "1", inputs, secretInputPaths: [], outputs: { ...inputs, certPem: "PEM", validityEndTime: end, readyForRenewal: false }, secretOutputPaths: [], dependencies: [], options: {} };
        const decide = (next: Record<string, unknown>) =>
            new Deployment({ stack: "t", resources: [stored], outputs: {}, secretOutputs: [] }, (u) => u).decide({ urn: "urn:cert", name: "cert", type, custom: true, inputs: { ...inputs, ...next }, secretInputPaths: [], dependencies: [], options: {} }, provider);
        expect(decide({}).op).toBe("same");
        expect(decide({ earlyRenewalHours: 1440 }).op).toBe("update");
        // A window wider than what is left of the certificate's life: due now, replaced.
        expect(decide({ earlyRenewalHours: 8761 })).toMatchObject({ op: "replace", replaceBecause: ["readyForRenewal"] });
        expect(decide({ validityPeriodHours: 48 }).op).toBe("replace");
        expect(decide({ certRequestPem: "csr2" }).op).toBe("replace");
        const updated = await provider.update!({ name: "cert", type, id: "1", inputs: { ...inputs, earlyRenewalHours: 1440 }, rawInputs: {}, oldInputs: inputs, oldOutputs: stored.outputs }, ctx);
        expect(updated.state).toMatchObject({ certPem: "PEM", validityEndTime: end, earlyRenewalHours: 1440, readyForRenewal: false });
    });

    it("a certificate signed by a CA made elsewhere names its issuer with the CA's subject bytes, as Go's x509.CreateCertificate does (Go verifiers such as etcd chain by bytes)", async () => {
        // openssl writes the CA's names as UTF8String; re-encoding them (PrintableString) chains for
        // openssl, which compares names canonically, and not for etcd, which found no parent.
        openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/O=corp/CN=corp CA", "-addext", "keyUsage=critical,keyCertSign,cRLSign", "-days", "10", "-keyout", path.join(dir, "corp.key"), "-out", path.join(dir, "corp.crt")]);
        const hostKey = await create("tls:index/privateKey:PrivateKey", "pg2-key", { algorithm: "ECDSA", ecdsaCurve: "P256" });
        const csr = await create("tls:index/certRequest:CertRequest", "pg2-csr", { privateKeyPem: hostKey.privateKeyPem, subject: { commonName: "pg2" }, dnsNames: ["pg2"], ipAddresses: ["10.0.0.22"] });
        const cert = await create("tls:index/locallySignedCert:LocallySignedCert", "pg2-cert", {
            certRequestPem: csr.certRequestPem,
            caCertPem: fs.readFileSync(path.join(dir, "corp.crt"), "utf8"),
            caPrivateKeyPem: fs.readFileSync(path.join(dir, "corp.key"), "utf8"),
            validityPeriodHours: 24,
            allowedUses: ["server_auth"],
        });
        fs.writeFileSync(path.join(dir, "pg2.pem"), String(cert.certPem));
        // The issuer, with each value's ASN.1 string type, is the CA's subject.
        const asn1 = (file: string, field: "subject" | "issuer") => spawnSync("sh", ["-c", `openssl x509 -in ${file} -noout -${field} -nameopt multiline,show_type`], { encoding: "utf8" }).stdout.replace(/^\S+=\n?/, "");
        expect(asn1(path.join(dir, "pg2.pem"), "issuer")).toBe(asn1(path.join(dir, "corp.crt"), "subject"));
        expect(asn1(path.join(dir, "corp.crt"), "subject")).toContain("UTF8STRING");
        // Its authority key id is the CA's subject key id (Go copies it), and it verifies as strictly as Python 3.13 does.
        const keyId = (file: string, ext: string) => openssl(["x509", "-in", file, "-noout", "-ext", ext]).split("\n")[1].trim();
        expect(keyId(path.join(dir, "pg2.pem"), "authorityKeyIdentifier")).toBe(keyId(path.join(dir, "corp.crt"), "subjectKeyIdentifier"));
        expect(openssl(["verify", "-x509_strict", "-CAfile", path.join(dir, "corp.crt"), path.join(dir, "pg2.pem")])).toContain("OK");
    });
});

