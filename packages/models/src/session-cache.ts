import type { Backend, Session, SessionOptions } from '@densessm/tensor';
import { ModelError } from './errors.js';

/** Sessions a model keeps by default; each weight-carrying session holds its own copy of the weights. */
export const DEFAULT_MAX_SESSIONS = 8;

/**
 * Lazily built ONNX sessions, one per key (mode + shape bucket), least recently used first out when more than
 * `maxSessions` exist (an evicted session is released once its submitted runs finish, and rebuilt if needed).
 */
export class SessionCache {
  private readonly sessions = new Map<string, Promise<Session>>();
  private disposed = false;

  constructor(
    private readonly backend: Backend,
    private readonly options: SessionOptions,
    private readonly maxSessions = DEFAULT_MAX_SESSIONS,
  ) {}

  get(key: string, build: () => Uint8Array): Promise<Session> {
    if (this.disposed)
      throw new ModelError('DISPOSED', `session '${key}' requested after the model was disposed`);
    let session = this.sessions.get(key);
    if (session) {
      this.sessions.delete(key); // re-insert: Map order is the recency order
    } else {
      session = this.backend.createSession(build(), { ...this.options, name: key });
      session.catch(() => this.sessions.delete(key));
    }
    this.sessions.set(key, session);
    while (this.sessions.size > this.maxSessions) {
      const [oldest, evicted] = this.sessions.entries().next().value!;
      this.sessions.delete(oldest);
      evicted.then((s) => s.release()).catch(() => undefined);
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
