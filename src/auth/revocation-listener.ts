import pg from 'pg';
import { logger } from '../shared/logger';

export const REVOKE_CHANNEL = 'courtpay_api_key_revoked';
/** Staff sessions that ended (`session:<id>`) and people whose sessions all ended (`staff:<staff id>`). */
export const STAFF_CHANNEL = 'courtpay_staff_sessions_ended';

export interface ListenerEvents {
  /** A key was revoked somewhere: its hash. */
  revoked(hash: string): void;
  /** A staff session or a person's sessions ended somewhere: the payload sent on STAFF_CHANNEL. */
  sessionsEnded?(payload: string): void;
  /** LISTEN is in place (first time, or again after a loss): anything cached before may be stale. */
  listening(): void;
  /** The connection is gone: revocations may be missed until `listening` comes again. */
  lost(): void;
}

export interface ReconnectSettings {
  revocationReconnectMinMs: number;
  revocationReconnectMaxMs: number;
}

/**
 * LISTEN for revocations on a dedicated connection, and keep it: a lost connection (a database
 * restart, an administrator's terminate, a network cut) is reconnected with a doubling, jittered
 * backoff and LISTENs again. Whoever uses it must not trust what it cached while it was lost.
 */
export class RevocationListener {
  private client: pg.Client | null = null;
  private timer: NodeJS.Timeout | null = null;
  private failures = 0;
  private closed = false;

  constructor(
    private readonly connectionString: string,
    private readonly settings: ReconnectSettings,
    private readonly on: ListenerEvents,
  ) {}

  get listening(): boolean {
    return this.client !== null;
  }

  /** Resolves once the first attempt is over; a failed one keeps retrying in the background. */
  async start(): Promise<void> {
    await this.connect();
  }

  private async connect(): Promise<void> {
    this.timer = null;
    if (this.closed) return;
    const client = new pg.Client({ connectionString: this.connectionString });
    let gone = false;
    const lose = (e?: Error) => {
      if (gone) return;
      gone = true;
      client.end().catch(() => undefined);
      const wasListening = this.client === client;
      if (wasListening) this.client = null;
      if (this.closed) return;
      logger.warn('api key revocation listener lost; every key is checked in the database until it is back', { err: e?.message });
      if (wasListening) this.on.lost();
      this.scheduleReconnect();
    };
    client.on('error', lose);
    client.on('end', () => lose());
    client.on('notification', (n) => {
      if (n.channel === REVOKE_CHANNEL && n.payload) this.on.revoked(n.payload);
      if (n.channel === STAFF_CHANNEL && n.payload) this.on.sessionsEnded?.(n.payload);
    });
    try {
      await client.connect();
      await client.query(`listen ${REVOKE_CHANNEL}; listen ${STAFF_CHANNEL}`);
    } catch (e) {
      lose(e as Error);
      return;
    }
    if (gone) return;
    if (this.closed) {
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
    if (this.failures > 0) logger.info('api key revocation listener back', { after: this.failures });
    this.failures = 0;
    this.on.listening();
  }

  private scheduleReconnect(): void {
    if (this.timer || this.closed) return;
    const { revocationReconnectMinMs: min, revocationReconnectMaxMs: max } = this.settings;
    const ceiling = Math.min(max, min * 2 ** Math.min(this.failures, 20));
    this.failures += 1;
    const delay = ceiling / 2 + Math.random() * (ceiling / 2);
    this.timer = setTimeout(() => void this.connect(), delay);
    this.timer.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const client = this.client;
    this.client = null;
    await client?.end().catch(() => undefined);
  }
}
