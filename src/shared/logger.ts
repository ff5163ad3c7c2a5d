import winston from 'winston';
import { currentContext } from './context';

/** Keys whose values never reach a log line, wherever they appear. */
const SECRET_KEYS = /^(authorization|api[-_]?key|key|secret|password|token|payment[-_]?token|card|cvc|number|stripe[-_]?signature)$/i;

function redact(value: unknown, depth = 0): unknown {
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = SECRET_KEYS.test(k) ? '[redacted]' : redact(v, depth + 1);
  return out;
}

const withContext = winston.format((info) => {
  const ctx = currentContext();
  if (ctx) {
    info.requestId ??= ctx.requestId;
    if (ctx.actor) info.actor ??= `${ctx.actor.type}:${ctx.actor.id}`;
  }
  // Redact in place: winston keeps its level and message under Symbol keys on this very object.
  for (const [k, v] of Object.entries(info)) info[k] = SECRET_KEYS.test(k) ? '[redacted]' : redact(v);
  return info;
});

export const logger = winston.createLogger({
  level: 'info',
  format: winston.format.combine(withContext(), winston.format.timestamp(), winston.format.errors({ stack: true }), winston.format.json()),
  defaultMeta: { service: 'courtpay' },
  transports: [new winston.transports.Console({ stderrLevels: ['error', 'warn'] })],
});

export function setLogLevel(level: string): void {
  logger.level = level;
}
