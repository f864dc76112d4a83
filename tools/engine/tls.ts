// @pulumi/tls resources (terraform-provider-tls v4, bridged), real in the lab and placeholders in plan mode.
//
// As the provider behaves (hashicorp/terraform-provider-tls internal/provider, v4):
// - every argument of tls_private_key, tls_self_signed_cert, tls_cert_request and tls_locally_signed_cert
//   requires replacement (RequiresReplace, or requireReplaceIfStateContainsPEMString for the PEM
//   inputs), except a certificate's early_renewal_hours: its Update only writes the plan to the
//   state (updatedUsingPlan), the certificate stays;
// - a certificate is replaced by any plan made once `now >= validity_end_time - early_renewal_hours`,
//   with the plan's (new) early_renewal_hours (common_cert.go modifyPlanIfCertificateReadyForRenewal,
//   run in PlanResourceChange, which the bridge calls for Pulumi's Diff): a `pulumi up` in the
//   renewal window issues a new certificate, and so does one that widens the window past now;
// - private_key_pem is PKCS#1 for RSA, SEC1 for ECDSA and PKCS#8 for ED25519; the private key
//   outputs are secret (@pulumi/tls additionalSecretOutputs).
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, webcrypto, type KeyObject } from "crypto";
import "reflect-metadata"; // @peculiar/x509 (tsyringe) needs it loaded first
import * as x509 from "@peculiar/x509";
import type { ResourceProvider } from "./types";
import { secretValue } from "./values";

type CryptoKey = webcrypto.CryptoKey;
type SignatureAlgorithm = webcrypto.EcdsaParams | webcrypto.RsaHashedImportParams | webcrypto.Algorithm;

// x509's types name the DOM's WebCrypto; Node's is the same API.
x509.cryptoProvider.set(webcrypto as never);

const CURVES: Record<string, { node: string; web: string; hash: string }> = {
  P224: { node: "P-224", web: "P-224", hash: "SHA-256" },
  P256: { node: "prime256v1", web: "P-256", hash: "SHA-256" },
  P384: { node: "secp384r1", web: "P-384", hash: "SHA-384" },
  P521: { node: "secp521r1", web: "P-521", hash: "SHA-512" },
};

/** The key's PEM forms as the provider outputs them. */
function newKey(algorithm: string, curve: string, rsaBits: number): Record<string, string> {
  let pair: { privateKey: KeyObject; publicKey: KeyObject };
  let privateKeyPem: string;
  if (algorithm === "ECDSA") {
    const c = CURVES[curve];
    if (!c) throw new Error(`invalid ecdsa_curve ${curve}: one of ${Object.keys(CURVES).join(", ")}`);
    pair = generateKeyPairSync("ec", { namedCurve: c.node });
    privateKeyPem = pair.privateKey.export({ type: "sec1", format: "pem" }) as string;
  } else if (algorithm === "RSA") {
    pair = generateKeyPairSync("rsa", { modulusLength: rsaBits });
    privateKeyPem = pair.privateKey.export({ type: "pkcs1", format: "pem" }) as string;
  } else if (algorithm === "ED25519") {
    pair = generateKeyPairSync("ed25519");
    privateKeyPem = pair.privateKey.export({ type: "pkcs8", format: "pem" }) as string;
  } else {
    throw new Error(`invalid algorithm ${algorithm}: one of RSA, ECDSA, ED25519`);
  }
  return {
    algorithm,
    privateKeyPem,
    privateKeyPemPkcs8: pair.privateKey.export({ type: "pkcs8", format: "pem" }) as string,
    publicKeyPem: pair.publicKey.export({ type: "spki", format: "pem" }) as string,
  };
}

/** A PEM private key as WebCrypto keys for signing, with the signature algorithm the provider uses for it. */
async function signingKeys(pem: string): Promise<{ privateKey: CryptoKey; publicKey: CryptoKey; algorithm: SignatureAlgorithm; keyAlgorithm: string }> {
  const key = createPrivateKey(pem);
  // The key's WebCrypto import parameters, the signature algorithm the provider uses with it, and its name.
  let params: webcrypto.EcKeyImportParams | webcrypto.RsaHashedImportParams | webcrypto.Algorithm;
  let algorithm: SignatureAlgorithm;
  let keyAlgorithm: string;
  if (key.asymmetricKeyType === "ec") {
    const named = key.asymmetricKeyDetails?.namedCurve;
    const c = Object.values(CURVES).find((v) => v.node === named || v.web === named);
    if (!c) throw new Error(`unsupported curve ${named}`);
    params = { name: "ECDSA", namedCurve: c.web };
    algorithm = { name: "ECDSA", hash: c.hash };
    keyAlgorithm = "ECDSA";
  } else if (key.asymmetricKeyType === "rsa") {
    params = algorithm = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };
    keyAlgorithm = "RSA";
  } else {
    params = algorithm = { name: "Ed25519" };
    keyAlgorithm = "ED25519";
  }
  const subtle = webcrypto.subtle;
  return {
    privateKey: await subtle.importKey("pkcs8", key.export({ type: "pkcs8", format: "der" }), params, true, ["sign"]),
    publicKey: await subtle.importKey("spki", createPublicKey(key).export({ type: "spki", format: "der" }), params, true, ["verify"]),
    algorithm,
    keyAlgorithm,
  };
}

interface Subject {
  commonName?: string;
  organization?: string;
  organizationalUnit?: string;
  country?: string;
  locality?: string;
  province?: string;
}

/** The subject as a distinguished name, in the order Go's pkix.Name writes it. */
function distinguishedName(subject: Subject | undefined): string {
  const s = subject ?? {};
  const parts: Array<[string, string | undefined]> = [["C", s.country], ["ST", s.province], ["L", s.locality], ["O", s.organization], ["OU", s.organizationalUnit], ["CN", s.commonName]];
  return parts.filter(([, v]) => v).map(([k, v]) => `${k}=${String(v).replace(/([,+"\\<>;=])/g, "\\$1")}`).reverse().join(", ");
}

const KEY_USAGES: Record<string, number> = {
  digital_signature: x509.KeyUsageFlags.digitalSignature,
  content_commitment: x509.KeyUsageFlags.nonRepudiation,
  key_encipherment: x509.KeyUsageFlags.keyEncipherment,
  data_encipherment: x509.KeyUsageFlags.dataEncipherment,
  key_agreement: x509.KeyUsageFlags.keyAgreement,
  cert_signing: x509.KeyUsageFlags.keyCertSign,
  crl_signing: x509.KeyUsageFlags.cRLSign,
  encipher_only: x509.KeyUsageFlags.encipherOnly,
  decipher_only: x509.KeyUsageFlags.decipherOnly,
};
const EXTENDED_KEY_USAGES: Record<string, string> = {
  any_extended: "2.5.29.37.0",
  server_auth: x509.ExtendedKeyUsage.serverAuth,
  client_auth: x509.ExtendedKeyUsage.clientAuth,
  code_signing: x509.ExtendedKeyUsage.codeSigning,
  email_protection: x509.ExtendedKeyUsage.emailProtection,
  timestamping: x509.ExtendedKeyUsage.timeStamping,
  ocsp_signing: x509.ExtendedKeyUsage.ocspSigning,
};

/** The extensions a certificate gets from `allowed_uses` and `is_ca_certificate`. */
function usageExtensions(allowedUses: string[], isCa: boolean): x509.Extension[] {
  const unknown = allowedUses.filter((u) => !(u in KEY_USAGES) && !(u in EXTENDED_KEY_USAGES));
  if (unknown.length > 0) throw new Error(`unknown allowed_uses: ${unknown.join(", ")}`);
  const usage = allowedUses.reduce((flags, u) => flags | (KEY_USAGES[u] ?? 0), 0);
  const extended = allowedUses.flatMap((u) => (EXTENDED_KEY_USAGES[u] ? [EXTENDED_KEY_USAGES[u]] : []));
  return [
    new x509.BasicConstraintsExtension(isCa, undefined, true),
    ...(usage ? [new x509.KeyUsagesExtension(usage, true)] : []),
    ...(extended.length > 0 ? [new x509.ExtendedKeyUsageExtension(extended)] : []),
  ];
}

function sans(dnsNames: string[] = [], ipAddresses: string[] = [], uris: string[] = []): x509.Extension[] {
  const names = [...dnsNames.map((value) => ({ type: "dns" as const, value })), ...ipAddresses.map((value) => ({ type: "ip" as const, value })), ...uris.map((value) => ({ type: "url" as const, value }))];
  return names.length > 0 ? [new x509.SubjectAlternativeNameExtension(names)] : [];
}

/** validity_* outputs and ready_for_renewal, as the provider computes them. */
function validity(notBefore: Date, hours: number, earlyRenewalHours: number): Record<string, unknown> {
  const notAfter = new Date(notBefore.getTime() + hours * 3_600_000);
  return {
    validityStartTime: notBefore.toISOString().replace(/\.\d{3}Z$/, "Z"),
    validityEndTime: notAfter.toISOString().replace(/\.\d{3}Z$/, "Z"),
    readyForRenewal: readyForRenewal(notAfter.toISOString(), earlyRenewalHours),
  };
}

/** The provider's renewal rule: now is past `validity_end_time - early_renewal_hours`. */
export function readyForRenewal(validityEndTime: string, earlyRenewalHours: number, now = Date.now()): boolean {
  return now >= Date.parse(validityEndTime) - earlyRenewalHours * 3_600_000;
}

/** The authority key identifier of a certificate `ca` signs: its subject key id's bytes, as Go copies them. */
function authorityKeyId(ca: x509.X509Certificate): x509.Extension[] {
  const ski = ca.getExtension(x509.SubjectKeyIdentifierExtension);
  return ski ? [new x509.AuthorityKeyIdentifierExtension(ski.keyId)] : [];
}

/** A certificate's renewal makes the next plan replace it (common_cert.go): the new inputs' window, the stored end. */
function renewal({ outputs, inputs }: { inputs: Record<string, unknown>; outputs: Record<string, unknown> }): string | undefined {
  const end = outputs.validityEndTime;
  if (typeof end !== "string") return undefined;
  return readyForRenewal(end, Number(inputs.earlyRenewalHours ?? 0)) ? "readyForRenewal" : undefined;
}

/** A certificate's in-place update (only early_renewal_hours has one): the plan into the state, the certificate kept. */
const certificateUpdate: ResourceProvider["update"] = async ({ id, inputs, oldOutputs }) => ({
  id,
  state: { ...oldOutputs, ...inputs, readyForRenewal: readyForRenewal(String(oldOutputs.validityEndTime), Number(inputs.earlyRenewalHours ?? 0)) },
});

function serialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] &= 0x7f; // positive
  return bytes.toString("hex");
}

function placeholderPem(kind: string, name: string): string {
  return `-----BEGIN ${kind}-----\nplan-placeholder-${name}\n-----END ${kind}-----\n`;
}

export function tlsHandlers(mode: "plan" | "lab"): Record<string, ResourceProvider> {
  const plan = mode === "plan";
  return {
    "tls:index/privateKey:PrivateKey": {
      computedOutputs: ["privateKeyPem", "privateKeyPemPkcs8", "publicKeyPem"],
      create: async ({ name, inputs }) => {
        const algorithm = String(inputs.algorithm);
        const key: Record<string, string> = plan
          ? {
              algorithm,
              privateKeyPem: placeholderPem("PRIVATE KEY", name),
              privateKeyPemPkcs8: placeholderPem("PRIVATE KEY", name),
              privateKeyOpenssh: placeholderPem("OPENSSH PRIVATE KEY", name),
              publicKeyPem: placeholderPem("PUBLIC KEY", name),
              publicKeyOpenssh: `ssh-ed25519 AAAAplaceholder${name} plan`,
              publicKeyFingerprintSha256: `SHA256:plan-${name}`,
            }
          : newKey(algorithm, String(inputs.ecdsaCurve ?? "P224"), Number(inputs.rsaBits ?? 2048));
        const secret = (k: string) => (key[k] === undefined ? {} : { [k]: secretValue(key[k]) });
        return {
          id: plan ? `plan-${name}` : `${name}-key`,
          state: { ...inputs, ...key, ...secret("privateKeyPem"), ...secret("privateKeyPemPkcs8"), ...secret("privateKeyOpenssh") },
        };
      },
    },
    "tls:index/selfSignedCert:SelfSignedCert": {
      computedOutputs: ["certPem", "validityStartTime", "validityEndTime", "readyForRenewal", "keyAlgorithm"],
      mustReplace: renewal,
      update: certificateUpdate,
      replaceOnChanges: ["privateKeyPem", "validityPeriodHours", "allowedUses", "dnsNames", "ipAddresses", "uris", "isCaCertificate", "maxPathLength", "setSubjectKeyId", "setAuthorityKeyId", "subject"],
      create: async ({ name, inputs }) => {
        const hours = Number(inputs.validityPeriodHours);
        const times = validity(new Date(), hours, Number(inputs.earlyRenewalHours ?? 0));
        if (plan) return { id: `${name}-serial`, state: { ...inputs, ...times, certPem: placeholderPem("CERTIFICATE", name), keyAlgorithm: "ECDSA" } };
        const keys = await signingKeys(String(inputs.privateKeyPem));
        const isCa = inputs.isCaCertificate === true;
        const serial = serialNumber();
        const cert = await x509.X509CertificateGenerator.createSelfSigned({
          serialNumber: serial,
          name: distinguishedName(inputs.subject as Subject),
          notBefore: new Date(String(times.validityStartTime)),
          notAfter: new Date(String(times.validityEndTime)),
          signingAlgorithm: keys.algorithm,
          keys: { privateKey: keys.privateKey, publicKey: keys.publicKey },
          extensions: [
            ...usageExtensions((inputs.allowedUses as string[]) ?? [], isCa),
            ...sans(inputs.dnsNames as string[], inputs.ipAddresses as string[], inputs.uris as string[]),
            ...(inputs.setSubjectKeyId === true || isCa ? [await x509.SubjectKeyIdentifierExtension.create(keys.publicKey)] : []),
          ],
        });
        return { id: BigInt(`0x${serial}`).toString(), state: { ...inputs, ...times, certPem: cert.toString("pem") + "\n", keyAlgorithm: keys.keyAlgorithm } };
      },
    },
    "tls:index/certRequest:CertRequest": {
      computedOutputs: ["certRequestPem", "keyAlgorithm"],
      create: async ({ name, inputs }) => {
        if (plan) return { id: `${name}-csr`, state: { ...inputs, certRequestPem: placeholderPem("CERTIFICATE REQUEST", name), keyAlgorithm: "ECDSA" } };
        const keys = await signingKeys(String(inputs.privateKeyPem));
        const csr = await x509.Pkcs10CertificateRequestGenerator.create({
          name: distinguishedName(inputs.subject as Subject),
          keys: { privateKey: keys.privateKey, publicKey: keys.publicKey },
          signingAlgorithm: keys.algorithm,
          extensions: sans(inputs.dnsNames as string[], inputs.ipAddresses as string[], inputs.uris as string[]),
        });
        return { id: `${name}-csr`, state: { ...inputs, certRequestPem: csr.toString("pem") + "\n", keyAlgorithm: keys.keyAlgorithm } };
      },
    },
    "tls:index/locallySignedCert:LocallySignedCert": {
      computedOutputs: ["certPem", "validityStartTime", "validityEndTime", "readyForRenewal", "caKeyAlgorithm"],
      mustReplace: renewal,
      update: certificateUpdate,
      replaceOnChanges: ["caCertPem", "caPrivateKeyPem", "certRequestPem", "validityPeriodHours", "allowedUses", "isCaCertificate", "maxPathLength", "setSubjectKeyId"],
      create: async ({ name, inputs }) => {
        const times = validity(new Date(), Number(inputs.validityPeriodHours), Number(inputs.earlyRenewalHours ?? 0));
        if (plan) return { id: `${name}-serial`, state: { ...inputs, ...times, certPem: placeholderPem("CERTIFICATE", name), caKeyAlgorithm: "ECDSA" } };
        const csr = new x509.Pkcs10CertificateRequest(String(inputs.certRequestPem));
        if (!(await csr.verify())) throw new Error("the certificate request's signature does not verify");
        const ca = new x509.X509Certificate(String(inputs.caCertPem));
        const caKeys = await signingKeys(String(inputs.caPrivateKeyPem));
        const serial = serialNumber();
        const isCa = inputs.isCaCertificate === true;
        const publicKey = await csr.publicKey.export();
        const cert = await x509.X509CertificateGenerator.create({
          serialNumber: serial,
          subject: csr.subject,
          // The issuer is the CA certificate's subject byte for byte, as Go's x509.CreateCertificate writes it
          // (parent.RawSubject): Go verifiers (etcd) match names by their bytes, a re-encoded name
          // (UTF8String → PrintableString) would not chain.
          issuer: ca.subjectName,
          notBefore: new Date(String(times.validityStartTime)),
          notAfter: new Date(String(times.validityEndTime)),
          signingAlgorithm: caKeys.algorithm,
          publicKey,
          signingKey: caKeys.privateKey,
          extensions: [
            ...usageExtensions((inputs.allowedUses as string[]) ?? [], isCa),
            // The request's names are copied into the certificate.
            ...csr.extensions.filter((e) => e.type === "2.5.29.17") /* subjectAltName */,
            // Go's x509.CreateCertificate: the authority key id is the CA's subject key id, none without one.
            ...authorityKeyId(ca),
            ...(inputs.setSubjectKeyId === true ? [await x509.SubjectKeyIdentifierExtension.create(publicKey)] : []),
          ],
        });
        return { id: BigInt(`0x${serial}`).toString(), state: { ...inputs, ...times, certPem: cert.toString("pem") + "\n", caKeyAlgorithm: caKeys.keyAlgorithm } };
      },
    },
  };
}
