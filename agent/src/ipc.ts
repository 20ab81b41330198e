// The supervisor link (protocol.md section 7): tell the parent once that we are ready, and which
// version we are, so `tether-supervisor status` can show it.
import { VERSION } from '@tether/shared/version.ts';

export class SupervisorLink {
  #sent = false;

  get attached(): boolean {
    return typeof process.send === 'function';
  }

  /** Sends { type: 'ready' } once, when there is an IPC channel. */
  ready(reason: string): void {
    if (this.#sent || !process.send || !process.connected) return;
    this.#sent = true;
    process.send({ type: 'ready', reason, version: VERSION });
  }
}
