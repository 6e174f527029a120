import forge from 'node-forge';

export interface Pem {
  key: string;
  cert: string;
}

function certificate(commonName: string, issuer: { cert: forge.pki.Certificate; key: forge.pki.rsa.PrivateKey } | null, ca: boolean, serial: string) {
  const keys = forge.pki.rsa.generateKeyPair(2048);
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = serial;
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + 24 * 3600_000);
  const subject = [{ name: 'commonName', value: commonName }];
  cert.setSubject(subject);
  cert.setIssuer(issuer ? issuer.cert.subject.attributes : subject);
  cert.setExtensions(ca
    ? [{ name: 'basicConstraints', cA: true }, { name: 'keyUsage', keyCertSign: true, cRLSign: true }]
    : [{ name: 'basicConstraints', cA: false }, { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true, clientAuth: true }, { name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }, { type: 2, value: 'localhost' }] }]);
  cert.sign(issuer?.key ?? keys.privateKey, forge.md.sha256.create());
  return { cert, key: keys.privateKey, pem: { key: forge.pki.privateKeyToPem(keys.privateKey), cert: forge.pki.certificateToPem(cert) } };
}

/** A private CA, a server certificate and a client certificate it signed, and a client certificate from a stranger's CA. */
export function mutualTlsFixtures() {
  const ca = certificate('Tally test CA', null, true, '01');
  const server = certificate('localhost', ca, false, '02');
  const partner = certificate('dvd-partner', ca, false, '03');
  const strangerCa = certificate('Somebody else', null, true, '04');
  const stranger = certificate('intruder', strangerCa, false, '05');
  return { ca: ca.pem.cert, server: server.pem, partner: partner.pem, stranger: stranger.pem };
}
