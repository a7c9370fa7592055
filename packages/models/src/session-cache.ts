import type { Backend, Session, SessionOptions } from '@densessm/tensor';
import { ModelError } from './errors.js';

/** Lazily built ONNX sessions, one per key (mode + shape bucket); built once, released together. */
export class SessionCache {
  private readonly sessions = new Map<string, Promise<Session>>();
  private disposed = false;

  constructor(
    private readonly backend: Backend,
    private readonly options: SessionOptions,
  ) {}

  get(key: string, build: () => Uint8Array): Promise<Session> {
    if (this.disposed)
      throw new ModelError('DISPOSED', `session '${key}' requested after the model was disposed`);
    let session = this.sessions.get(key);
    if (!session) {
      session = this.backend.createSession(build(), { ...this.options, name: key });
      this.sessions.set(key, session);
      session.catch(() => this.sessions.delete(key));
    }
    return session;
  }

  get size(): number {
    return this.sessions.size;
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    const all = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.all(all.map(async (s) => (await s).release()));
  }
}
