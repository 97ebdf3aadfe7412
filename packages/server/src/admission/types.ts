/**
 * Admission: the steps every write passes after authorization and before storage
 * (k8s.io/apiserver/pkg/admission). Mutating steps run first and may change the object; then
 * validating steps may only refuse. A refusal is a thrown `StatusError`.
 */
import type { KubeObject } from '@boundtoken/api';
import type { UserInfo } from '../auth/types.js';
import type { ResourceDef } from '../registry/types.js';

export type Operation = 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';

export interface AdmissionRequest {
  operation: Operation;
  def: ResourceDef;
  /** '' for the main resource, or `status`, `token`, `binding`, … */
  subresource: string;
  namespace: string;
  name: string;
  user: UserInfo;
  /** The incoming object (CREATE/UPDATE; for subresources such as token: the TokenRequest). */
  object?: KubeObject;
  /** The stored object (UPDATE/DELETE). */
  oldObject?: KubeObject;
  dryRun: boolean;
}

export interface AdmissionPlugin {
  readonly name: string;
  /** Mutating admission: may change `req.object`. */
  admit?(req: AdmissionRequest): void | Promise<void>;
  /** Validating admission: may only refuse. */
  validate?(req: AdmissionRequest): void | Promise<void>;
}

export class AdmissionChain {
  constructor(private readonly plugins: AdmissionPlugin[]) {}

  async run(req: AdmissionRequest): Promise<void> {
    for (const p of this.plugins) if (p.admit) await p.admit(req);
    for (const p of this.plugins) if (p.validate) await p.validate(req);
  }

  add(plugin: AdmissionPlugin): void {
    this.plugins.push(plugin);
  }
}
