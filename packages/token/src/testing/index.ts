/**
 * Test helpers shared by the token, server and SDK suites: Kubernetes' public test vectors and a
 * corpus of malformed and forged tokens. Imported as `@boundtoken/token/testing`.
 */
export { kubernetesTestVectors } from './vectors.js';
export { forgedTokenCorpus, type CorpusCase, type CorpusOptions } from './corpus.js';
