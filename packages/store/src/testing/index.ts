export { runStoreConformance } from './conformance.js';
export type { StoreFactory } from './conformance.js';
export { ensureEtcdInstalled, startEtcdCluster } from './etcd-harness.js';
export type { EtcdCluster, EtcdMember, EtcdTlsMaterial, StartEtcdClusterOptions } from './etcd-harness.js';
