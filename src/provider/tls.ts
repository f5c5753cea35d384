// AutoMTLS for go-plugin: a self-signed server certificate (CA:true, SAN localhost).
// The client certificate Terraform passes in PLUGIN_CLIENT_CERT is the only trusted root.
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { Buffer } from "node:buffer";

export interface ServerCert {
  certPem: string;
  keyPem: string;
  /** DER, standard base64 without padding: the handshake line's last field. */
  certB64: string;
}

const ALG = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;
export const VALIDITY_MS = 7 * 24 * 3600_000;

function pem(label: string, der: ArrayBuffer): string {
  const b64 = Buffer.from(der).toString("base64").replace(/(.{64})/g, "$1\n").trimEnd();
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

export async function generateServerCert(): Promise<ServerCert> {
  const crypto = globalThis.crypto;
  x509.cryptoProvider.set(crypto);
  const keys = await crypto.subtle.generateKey(ALG, true, ["sign", "verify"]) as CryptoKeyPair;
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString("hex").replace(
      /^[89a-f]/,
      "1",
    ),
    name: "CN=localhost, O=InfraSim",
    notBefore: new Date(now - 30_000),
    notAfter: new Date(now + VALIDITY_MS),
    signingAlgorithm: ALG,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment |
          x509.KeyUsageFlags.keyCertSign,
        true,
      ),
      new x509.ExtendedKeyUsageExtension([
        x509.ExtendedKeyUsage.serverAuth,
        x509.ExtendedKeyUsage.clientAuth,
      ]),
      new x509.SubjectAlternativeNameExtension([{ type: "dns", value: "localhost" }]),
    ],
  });
  const pkcs8 = await crypto.subtle.exportKey("pkcs8", keys.privateKey);
  return {
    certPem: cert.toString("pem") + "\n",
    keyPem: pem("PRIVATE KEY", pkcs8),
    certB64: Buffer.from(cert.rawData).toString("base64").replace(/=+$/, ""),
  };
}
